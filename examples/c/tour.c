/*
 * The C tour: assess a sample account, then close it under the cascade
 * policy, printing what happens. Run from the repository root:
 *   cc -std=c99 -Ibindings-c/include examples/c/tour.c -Ltarget/release -loffboard -o tour && ./tour
 */
#include "offboard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIT(s) s, (sizeof(s) - 1)

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = (char *)malloc((size_t)size + 1);
  *len = fread(data, 1, (size_t)size, f);
  data[*len] = '\0';
  fclose(f);
  return data;
}

/* Prints every "code" of the blockers array of an assessment. */
static void print_blockers(const char *report) {
  const char *p = strstr(report, "\"blockers\":[");
  const char *end = strstr(report, "],\"warnings\":[");
  while (p != NULL && (p = strstr(p, "{\"code\":\"")) != NULL && p < end) {
    p += 9;
    printf("  - %.*s\n", (int)(strchr(p, '"') - p), p);
  }
}

static int fail(const char *what, OffboardStatus status) {
  fprintf(stderr, "%s failed: [%s] %s\n", what, offboard_status_name((int)status), offboard_last_error_message());
  return 1;
}

int main(void) {
  size_t len = 0;
  char *snapshot = read_file("examples/data/team-owner.json", &len);
  if (snapshot == NULL) {
    fprintf(stderr, "run me from the repository root\n");
    return 1;
  }
  const char actor[] = "{\"id\":\"u_omar\",\"role\":\"user\",\"reauthenticated_at\":\"2026-11-23T10:00:00Z\"}";
  const char now[] = "2026-11-23T10:00:00Z";

  OffboardPolicy *prerequisite = NULL, *cascade = NULL;
  OffboardStatus status = offboard_policy_preset(LIT("prerequisite"), &prerequisite);
  if (status != OFFBOARD_STATUS_OK) return fail("policy", status);
  offboard_policy_preset(LIT("cascade"), &cascade);

  char *report = NULL;
  size_t report_len = 0;
  status = offboard_assess(snapshot, len, LIT(actor), prerequisite, LIT(now), &report, &report_len);
  if (status != OFFBOARD_STATUS_OK) return fail("assess", status);
  printf("offboard %s: assessing team-owner under the prerequisite policy\n", offboard_version());
  printf("can close: %s\n", strstr(report, "\"can_close\":true") ? "yes" : "no");
  print_blockers(report);
  offboard_string_free(report);

  char *state = NULL;
  size_t state_len = 0;
  offboard_state_new(LIT("cl_tour"), LIT("u_omar"), &state, &state_len);
  char *step = NULL;
  size_t step_len = 0;
  status = offboard_step(state, state_len, LIT("{\"type\":\"request\"}"), LIT(actor), prerequisite, snapshot, len, LIT(now), &step, &step_len);
  printf("request under prerequisite: %s (%s)\n", offboard_status_name((int)status),
         status == OFFBOARD_STATUS_OK ? "accepted" : "refused, every blocker is in offboard_last_error_json()");

  status = offboard_step(state, state_len, LIT("{\"type\":\"request\"}"), LIT(actor), cascade, snapshot, len, LIT(now), &step, &step_len);
  if (status != OFFBOARD_STATUS_OK) return fail("request", status);
  printf("request under cascade: accepted, %zu bytes of step JSON\n", step_len);
  offboard_string_free(step);

  offboard_string_free(state);
  offboard_policy_free(prerequisite);
  offboard_policy_free(cascade);
  free(snapshot);
  return 0;
}
