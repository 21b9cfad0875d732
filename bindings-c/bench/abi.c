/* The cost of Offboard's C ABI: the same assessment as the native benchmark
 * (`json::assess_with` with a parsed policy), called from C through
 * `offboard_assess`, one call at a time.
 *
 *   abi SAMPLE.json ACTOR.json NOW RUNS
 *
 * Prints `runs=… assess_p50_ns=… version_p50_ns=…` for scripts/bench.sh, which
 * also runs this under callgrind to count the instructions the ABI adds
 * (`offboard_assess` minus the `offboard::json::assess_with` it wraps). */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "offboard.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)size + 1);
  if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) {
    fclose(f);
    free(text);
    return NULL;
  }
  fclose(f);
  text[size] = '\0';
  *len = (size_t)size;
  return text;
}

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int by_value(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static long long median(long long *times, int runs) {
  qsort(times, (size_t)runs, sizeof *times, by_value);
  return times[runs / 2];
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s SAMPLE.json ACTOR.json NOW RUNS\n", argv[0]);
    return 2;
  }
  size_t snapshot_len = 0, actor_len = 0;
  char *snapshot = read_file(argv[1], &snapshot_len);
  char *actor = read_file(argv[2], &actor_len);
  const char *now = argv[3];
  int runs = atoi(argv[4]);
  if (snapshot == NULL || actor == NULL || runs < 1) {
    fprintf(stderr, "cannot read the inputs\n");
    return 2;
  }
  struct OffboardPolicy *policy = NULL;
  if (offboard_policy_preset("cascade", strlen("cascade"), &policy) != OFFBOARD_STATUS_OK) {
    fprintf(stderr, "preset: %s\n", offboard_last_error_message());
    return 1;
  }
  long long *times = malloc(sizeof *times * (size_t)runs);
  if (times == NULL) return 1;

  for (int i = 0; i < runs; i++) {
    char *out = NULL;
    size_t out_len = 0;
    long long start = now_ns();
    enum OffboardStatus status =
        offboard_assess(snapshot, snapshot_len, actor, actor_len, policy, now, strlen(now), &out, &out_len);
    times[i] = now_ns() - start;
    if (status != OFFBOARD_STATUS_OK) {
      fprintf(stderr, "assess: %s\n", offboard_last_error_message());
      return 1;
    }
    offboard_string_free(out);
  }
  long long assess = median(times, runs);

  /* The smallest call there is: a static string, no input, no allocation. */
  for (int i = 0; i < runs; i++) {
    long long start = now_ns();
    const char *version = offboard_version();
    times[i] = now_ns() - start;
    if (version == NULL) return 1;
  }
  long long version = median(times, runs);

  printf("runs=%d assess_p50_ns=%lld version_p50_ns=%lld bytes=%zu\n", runs, assess, version, snapshot_len);
  free(times);
  free(snapshot);
  free(actor);
  offboard_policy_free(policy);
  return 0;
}
