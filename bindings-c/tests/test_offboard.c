/*
 * C tests of the offboard ABI: a plain runner that counts checks and keeps
 * going. Run from the repository root (it reads examples/ and tests/fixtures/).
 * Compiles as C99 and as C++17; scripts/test-c.sh runs it under valgrind.
 */
#define _POSIX_C_SOURCE 200809L
#include "offboard.h"

#include <dirent.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed = 0;
static int failed = 0;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (cond) {                                                                  \
      passed++;                                                                  \
    } else {                                                                     \
      failed++;                                                                  \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);            \
      if (offboard_last_error_message() != NULL)                                 \
        fprintf(stderr, "     last error: %s\n", offboard_last_error_message()); \
    }                                                                            \
  } while (0)

/* A string literal and its length. */
#define LIT(s) s, (sizeof(s) - 1)

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *data = (char *)malloc((size_t)size + 1);
  size_t got = fread(data, 1, (size_t)size, f);
  fclose(f);
  data[got] = '\0';
  *len = got;
  return data;
}

static int count(const char *haystack, const char *needle) {
  int n = 0;
  size_t step = strlen(needle);
  for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + step, needle)) n++;
  return n;
}

static const char HOLDER_OMAR[] = "{\"id\":\"u_omar\",\"role\":\"user\",\"reauthenticated_at\":\"2026-11-23T10:00:00Z\"}";
static const char SYSTEM[] = "{\"id\":\"worker\",\"role\":\"system\"}";
static const char NOW[] = "2026-11-23T10:00:00Z";

static void test_policy_handles(void) {
  OffboardPolicy *policy = NULL;
  CHECK(offboard_policy_preset(LIT("cascade"), &policy) == OFFBOARD_STATUS_OK);
  CHECK(policy != NULL);
  char *json = NULL;
  size_t len = 0;
  CHECK(offboard_policy_to_json(policy, &json, &len) == OFFBOARD_STATUS_OK);
  CHECK(json != NULL && strstr(json, "\"name\":\"cascade\"") != NULL && strlen(json) == len);

  /* The JSON makes an equal policy. */
  OffboardPolicy *copy = NULL;
  CHECK(offboard_policy_from_json(json, len, &copy) == OFFBOARD_STATUS_OK);
  CHECK(offboard_policy_free(copy) == OFFBOARD_STATUS_OK);
  offboard_string_free(json);

  /* Use after free and double free are reported, never undefined. */
  CHECK(offboard_policy_free(policy) == OFFBOARD_STATUS_OK);
  char *untouched = (char *)"sentinel";
  size_t untouched_len = 7;
  CHECK(offboard_policy_to_json(policy, &untouched, &untouched_len) == OFFBOARD_STATUS_INVALID_HANDLE);
  CHECK(strcmp(untouched, "sentinel") == 0 && untouched_len == 7);
  CHECK(offboard_policy_free(policy) == OFFBOARD_STATUS_INVALID_HANDLE);
  CHECK(offboard_last_error_status() == OFFBOARD_STATUS_INVALID_HANDLE);
  CHECK(strstr(offboard_last_error_message(), "not a live policy handle") != NULL);
  CHECK(offboard_policy_free(NULL) == OFFBOARD_STATUS_OK);
  CHECK(offboard_policy_to_json((const OffboardPolicy *)(uintptr_t)0xdeadbeef, &untouched, &untouched_len) ==
        OFFBOARD_STATUS_INVALID_HANDLE);

  /* Bad policies. */
  OffboardPolicy *none = NULL;
  CHECK(offboard_policy_preset(LIT("lenient"), &none) == OFFBOARD_STATUS_INVALID_VALUE && none == NULL);
  CHECK(strstr(offboard_last_error_message(), "lenient") != NULL);
  CHECK(offboard_policy_from_json(LIT("{"), &none) == OFFBOARD_STATUS_MALFORMED_JSON && none == NULL);
  size_t bad_len = 0;
  char *bad = read_file("tests/fixtures/bad/policy/invalid_policy--clear-external-nameservers.json", &bad_len);
  CHECK(bad != NULL);
  CHECK(offboard_policy_from_json(bad, bad_len, &none) == OFFBOARD_STATUS_INVALID_POLICY);
  CHECK(strstr(offboard_last_error_json(), "\"code\":\"invalid_policy\"") != NULL);
  free(bad);
  CHECK(offboard_policy_preset(LIT("cascade"), NULL) == OFFBOARD_STATUS_NULL_ARGUMENT);
}

static void test_assess_samples(void) {
  OffboardPolicy *prerequisite = NULL;
  CHECK(offboard_policy_preset(LIT("prerequisite"), &prerequisite) == OFFBOARD_STATUS_OK);
  size_t len = 0;
  char *snapshot = read_file("examples/data/team-owner.json", &len);
  CHECK(snapshot != NULL);
  char *report = NULL;
  size_t report_len = 0;
  CHECK(offboard_assess(snapshot, len, LIT(HOLDER_OMAR), prerequisite, LIT(NOW), &report, &report_len) == OFFBOARD_STATUS_OK);
  CHECK(offboard_last_error_message() == NULL);
  CHECK(strstr(report, "\"can_close\":false") != NULL);
  /* Same blockers as the Rust and Node suites (tests/fixtures/sample-blockers.json). */
  CHECK(count(report, "\"code\":\"subscription_active\"") == 2);
  CHECK(count(report, "\"code\":\"add_on_active\"") == 1);
  CHECK(count(report, "\"code\":\"payment_method_on_file\"") == 1);
  CHECK(count(report, "\"code\":\"invoice_unpaid\"") == 1);
  CHECK(strstr(report, "\"tenants_deleted\":2") != NULL && strstr(report, "\"members_removed\":4") != NULL);
  offboard_string_free(report);
  free(snapshot);
  offboard_policy_free(prerequisite);
}

static void test_bad_arguments(void) {
  OffboardPolicy *policy = NULL;
  offboard_policy_preset(LIT("cascade"), &policy);
  size_t len = 0;
  char *snapshot = read_file("examples/data/lone-user.json", &len);
  char *out = (char *)"sentinel";
  size_t out_len = 42;

  CHECK(offboard_assess(NULL, 0, LIT(HOLDER_OMAR), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(strcmp(offboard_last_error_message(), "`snapshot` is NULL") == 0);
  CHECK(offboard_assess(snapshot, len, LIT(HOLDER_OMAR), policy, LIT(NOW), NULL, &out_len) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(offboard_assess(snapshot, len, LIT(HOLDER_OMAR), NULL, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(offboard_assess(LIT("{\"a\":\"\xff\xfe\"}"), LIT(HOLDER_OMAR), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_INVALID_UTF8);
  CHECK(strstr(offboard_last_error_message(), "offset 6") != NULL);
  CHECK(offboard_assess(snapshot, SIZE_MAX, LIT(HOLDER_OMAR), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_INVALID_LENGTH);
  /* Over the documented limit (256 MiB): refused before it is read. */
  size_t huge_len = (size_t)256 * 1024 * 1024 + 1;
  char *huge = (char *)calloc(huge_len, 1);
  CHECK(huge != NULL);
  CHECK(offboard_assess(huge, huge_len, LIT(HOLDER_OMAR), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_INPUT_TOO_LARGE);
  CHECK(strstr(offboard_last_error_json(), "\"number\":16") != NULL);
  free(huge);
  /* A length shorter than the document: the truncated text is not JSON. */
  CHECK(offboard_assess(snapshot, len / 2, LIT(HOLDER_OMAR), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_MALFORMED_JSON);
  CHECK(offboard_assess(snapshot, 0, LIT(HOLDER_OMAR), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_MALFORMED_JSON);
  CHECK(offboard_assess(snapshot, len, LIT("{\"id\":\"\",\"role\":\"user\"}"), policy, LIT(NOW), &out, &out_len) == OFFBOARD_STATUS_SCHEMA_MISMATCH);
  CHECK(offboard_assess(snapshot, len, LIT(HOLDER_OMAR), policy, LIT("tomorrow"), &out, &out_len) == OFFBOARD_STATUS_INVALID_VALUE);
  CHECK(strstr(offboard_last_error_json(), "\"number\":6") != NULL);
  /* Out-parameters are written only on success. */
  CHECK(strcmp(out, "sentinel") == 0 && out_len == 42);

  CHECK(strcmp(offboard_status_name(OFFBOARD_STATUS_BLOCKED), "blocked") == 0);
  CHECK(strcmp(offboard_status_name((OffboardStatus)999), "unknown") == 0);
  CHECK(strlen(offboard_version()) > 0);
  offboard_string_free(NULL);
  free(snapshot);
  offboard_policy_free(policy);
}

/* Replays the shared bad-input corpus: each file's status must be named by its prefix. */
static void test_corpus(void) {
  OffboardPolicy *policy = NULL;
  offboard_policy_preset(LIT("prerequisite"), &policy);
  const char *dir_path = "tests/fixtures/bad/snapshot";
  DIR *dir = opendir(dir_path);
  CHECK(dir != NULL);
  if (dir == NULL) return;
  int files = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    const char *dash = strstr(name, "--");
    if (dash == NULL || strstr(name, ".json") == NULL) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir_path, name);
    size_t len = 0;
    char *text = read_file(path, &len);
    char *out = NULL;
    size_t out_len = 0;
    OffboardStatus status = offboard_assess(text, len, LIT("{\"id\":\"u_a\",\"role\":\"user\",\"reauthenticated_at\":\"2026-11-23T10:00:00Z\"}"),
                                            policy, LIT(NOW), &out, &out_len);
    const char *got = offboard_status_name(status);
    int ok = strlen(got) == (size_t)(dash - name) && strncmp(got, name, (size_t)(dash - name)) == 0;
    if (!ok) fprintf(stderr, "corpus %s: got %s\n", name, got);
    CHECK(ok);
    CHECK(out == NULL);
    free(text);
    files++;
  }
  closedir(dir);
  CHECK(files >= 40);
  offboard_policy_free(policy);
}

/* The shared tamper corpus: the sample log verifies; each copy with one
 * event field changed does not. */
static void test_audit_tampering(void) {
  size_t len = 0;
  char *log = read_file("tests/fixtures/audit/log.json", &len);
  size_t head_len = 0;
  char *head = read_file("tests/fixtures/audit/head.txt", &head_len);
  CHECK(log != NULL && head != NULL);
  if (log == NULL || head == NULL) return;
  while (head_len > 0 && (head[head_len - 1] == '\n' || head[head_len - 1] == '\r')) head[--head_len] = '\0';
  char *out = NULL;
  size_t out_len = 0;
  CHECK(offboard_audit_verify(log, len, head, head_len, &out, &out_len) == OFFBOARD_STATUS_OK);
  CHECK(out != NULL && strstr(out, "\"valid\":true") != NULL);
  offboard_string_free(out);
  free(log);
  free(head);
  const char *dir_path = "tests/fixtures/audit/tampered";
  DIR *dir = opendir(dir_path);
  CHECK(dir != NULL);
  if (dir == NULL) return;
  int files = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strstr(entry->d_name, ".json") == NULL) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir_path, entry->d_name);
    size_t text_len = 0;
    char *text = read_file(path, &text_len);
    char *report = NULL;
    size_t report_len = 0;
    CHECK(offboard_audit_verify(text, text_len, NULL, 0, &report, &report_len) == OFFBOARD_STATUS_OK);
    int caught = report != NULL && strstr(report, "\"valid\":false") != NULL;
    if (!caught) fprintf(stderr, "tampered %s went unnoticed\n", entry->d_name);
    CHECK(caught);
    offboard_string_free(report);
    free(text);
    files++;
  }
  closedir(dir);
  CHECK(files >= 25);
}

/* A keyed chain through the C ABI: events sealed with the key; half a key
 * or a bad secret refused; a plain log is not accepted as keyed. */
static void test_keyed_audit(void) {
  OffboardPolicy *cascade = NULL;
  CHECK(offboard_policy_preset(LIT("cascade"), &cascade) == OFFBOARD_STATUS_OK);
  size_t snap_len = 0;
  char *snapshot = read_file("examples/data/lone-user.json", &snap_len);
  char *state = NULL;
  size_t state_len = 0;
  CHECK(offboard_state_new(LIT("cl_keyed"), LIT("u_lena"), &state, &state_len) == OFFBOARD_STATUS_OK);
  const char *holder = "{\"id\":\"u_lena\",\"role\":\"user\",\"reauthenticated_at\":\"2026-11-23T10:00:00Z\"}";
  const char *secret = "0707070707070707070707070707070707070707070707070707070707070707";
  char *step = NULL;
  size_t step_len = 0;
  CHECK(offboard_step_keyed(state, state_len, LIT("{\"type\":\"request\"}"), holder, strlen(holder), cascade,
                            snapshot, snap_len, LIT(NOW), LIT("k_2026"), secret, strlen(secret), &step,
                            &step_len) == OFFBOARD_STATUS_OK);
  CHECK(step != NULL && strstr(step, "\"key\":\"k_2026\"") != NULL);
  offboard_string_free(step);
  /* Half a key, or a secret that is not hex: refused, nothing written. */
  char *again = NULL;
  size_t again_len = 0;
  CHECK(offboard_step_keyed(state, state_len, LIT("{\"type\":\"request\"}"), holder, strlen(holder), cascade,
                            snapshot, snap_len, LIT(NOW), LIT("k_2026"), NULL, 0, &again,
                            &again_len) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(again == NULL);
  CHECK(offboard_step_keyed(state, state_len, LIT("{\"type\":\"request\"}"), holder, strlen(holder), cascade,
                            snapshot, snap_len, LIT(NOW), LIT("k_2026"), LIT("zz"), &again,
                            &again_len) == OFFBOARD_STATUS_INVALID_VALUE);
  /* A keyed verification of the plain sample log: refused as not keyed. */
  size_t log_len = 0;
  char *log = read_file("tests/fixtures/audit/log.json", &log_len);
  char *report = NULL;
  size_t report_len = 0;
  CHECK(offboard_audit_verify_keyed(log, log_len, NULL, 0, LIT("k_2026"), secret, strlen(secret), &report,
                                    &report_len) == OFFBOARD_STATUS_OK);
  CHECK(report != NULL && strstr(report, "\"wrong_key\"") != NULL);
  offboard_string_free(report);
  free(log);
  offboard_string_free(state);
  free(snapshot);
  offboard_policy_free(cascade);
}

/* Reads dir/name into a string without its trailing newline, or NULL. */
static char *read_case_file(const char *dir, const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  char *text = read_file(path, len);
  if (text != NULL) {
    while (*len > 0 && (text[*len - 1] == '\n' || text[*len - 1] == '\r')) text[--*len] = '\0';
  }
  return text;
}

/* Replays the machine cases: each directory's result must be named by its prefix ("ok" for accepted). */
static void test_step_corpus(void) {
  const char *base = "tests/fixtures/bad/step";
  DIR *dir = opendir(base);
  CHECK(dir != NULL);
  if (dir == NULL) return;
  int cases = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    const char *name = entry->d_name;
    const char *dash = strstr(name, "--");
    if (dash == NULL) continue;
    char case_dir[400];
    snprintf(case_dir, sizeof case_dir, "%s/%s", base, name);
    size_t state_len = 0, command_len = 0, actor_len = 0, now_len = 0, policy_len = 0, snapshot_name_len = 0, snapshot_len = 0;
    char *state = read_case_file(case_dir, "state.json", &state_len);
    char *command = read_case_file(case_dir, "command.json", &command_len);
    char *actor = read_case_file(case_dir, "actor.json", &actor_len);
    char *now = read_case_file(case_dir, "now.txt", &now_len);
    char *policy_name = read_case_file(case_dir, "policy.txt", &policy_len);
    char *snapshot_name = read_case_file(case_dir, "snapshot.txt", &snapshot_name_len);
    char *snapshot = NULL;
    if (snapshot_name != NULL) {
      char path[512];
      snprintf(path, sizeof path, "examples/data/%s.json", snapshot_name);
      snapshot = read_file(path, &snapshot_len);
    }
    OffboardPolicy *policy = NULL;
    CHECK(offboard_policy_preset(policy_name, policy_len, &policy) == OFFBOARD_STATUS_OK);
    char *out = NULL;
    size_t out_len = 0;
    OffboardStatus status = offboard_step(state, state_len, command, command_len, actor, actor_len, policy, snapshot, snapshot_len, now,
                                          now_len, &out, &out_len);
    const char *got = offboard_status_name(status);
    int ok = strlen(got) == (size_t)(dash - name) && strncmp(got, name, (size_t)(dash - name)) == 0;
    if (!ok) fprintf(stderr, "step case %s: got %s\n", name, got);
    CHECK(ok);
    offboard_string_free(out);
    offboard_policy_free(policy);
    free(state);
    free(command);
    free(actor);
    free(now);
    free(policy_name);
    free(snapshot_name);
    free(snapshot);
    cases++;
  }
  closedir(dir);
  CHECK(cases >= 10);
}

/* The token digest: SHA-256 in lower-case hex, as FIPS 180-2 gives it for "abc". */
static void test_digest(void) {
  char *digest = NULL;
  size_t len = 0;
  CHECK(offboard_digest_hex(LIT("abc"), &digest, &len) == OFFBOARD_STATUS_OK);
  CHECK(digest != NULL && len == 64 &&
        strcmp(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
  offboard_string_free(digest);
  char *untouched = NULL;
  CHECK(offboard_digest_hex(NULL, 3, &untouched, &len) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(untouched == NULL);
  CHECK(offboard_digest_hex("\xff", 1, &untouched, &len) == OFFBOARD_STATUS_INVALID_UTF8);
  CHECK(untouched == NULL);
}

/* SHA-256 of a text in lower-case hex, by OpenSSL: a digest the library did
 * not compute, so a wrong encoding on either side shows. */
static void sha256_hex(const char *text, size_t len, char hex[65]) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)text, len, digest);
  for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

/* The conformance corpus (tests/fixtures/conformance, written by tests/model.rs):
 * each case's steps replayed in order, the state carried from one step's output
 * to the next; every step JSON must have the SHA-256 the Rust library's had, and
 * every refusal its code. A line of steps.tsv is: now, actor, command, snapshot
 * index or "-", policy index, then "ok", the digest and the state's length, or
 * "error" and the code. A case with key.txt (id, tab, secret in hex) is keyed. */
static void test_conformance_corpus(void) {
  const char *base = "tests/fixtures/conformance";
  DIR *dir = opendir(base);
  CHECK(dir != NULL);
  if (dir == NULL) return;
  int cases = 0, steps = 0, mismatches = 0, keyed = 0, migrated = 0;
  struct dirent *entry;
  while ((entry = readdir(dir)) != NULL) {
    if (strncmp(entry->d_name, "case-", 5) != 0) continue;
    char case_dir[400];
    snprintf(case_dir, sizeof case_dir, "%s/%s", base, entry->d_name);
    size_t state_len = 0, steps_len = 0, key_len = 0;
    char *state = read_case_file(case_dir, "state.json", &state_len);
    char *lines = read_case_file(case_dir, "steps.tsv", &steps_len);
    char *key = read_case_file(case_dir, "key.txt", &key_len); /* NULL: a plain chain */
    char *secret = NULL;
    if (key != NULL) {
      secret = strchr(key, '\t');
      if (secret == NULL) {
        mismatches++;
      } else {
        *secret++ = '\0';
      }
    }
    OffboardPolicy *policies[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
      char name[32];
      size_t policy_len = 0;
      snprintf(name, sizeof name, "policy-%d.json", i);
      char *policy_text = read_case_file(case_dir, name, &policy_len);
      if (policy_text == NULL || offboard_policy_from_json(policy_text, policy_len, &policies[i]) != OFFBOARD_STATUS_OK) {
        mismatches++;
      }
      free(policy_text);
    }
    if (state == NULL || lines == NULL) mismatches++;
    int line_no = 0;
    for (char *line = lines; line != NULL && *line != '\0';) {
      line_no++;
      char *next = strchr(line, '\n');
      if (next != NULL) *next++ = '\0';
      char *field[8] = {NULL};
      int n = 0;
      for (char *p = line; p != NULL && n < 8; n++) {
        field[n] = p;
        p = strchr(p, '\t');
        if (p != NULL) *p++ = '\0';
      }
      int policy_index = n >= 5 ? atoi(field[4]) : -1;
      if (n < 7 || policy_index < 0 || policy_index > 1) {
        mismatches++;
        break;
      }
      char *snapshot = NULL;
      size_t snapshot_len = 0;
      if (strcmp(field[3], "-") != 0) {
        char name[64];
        snprintf(name, sizeof name, "snapshot-%s.json", field[3]);
        snapshot = read_case_file(case_dir, name, &snapshot_len);
        if (snapshot == NULL) mismatches++;
      }
      char *out = NULL;
      size_t out_len = 0;
      OffboardStatus status = offboard_step_keyed(
          state, state_len, field[2], strlen(field[2]), field[1], strlen(field[1]), policies[policy_index], snapshot,
          snapshot_len, field[0], strlen(field[0]), key, key == NULL ? 0 : strlen(key), secret,
          secret == NULL ? 0 : strlen(secret), &out, &out_len);
      int same;
      if (strcmp(field[5], "ok") == 0) {
        char hex[65] = {0};
        if (out != NULL) sha256_hex(out, out_len, hex);
        same = status == OFFBOARD_STATUS_OK && n == 8 && strcmp(hex, field[6]) == 0;
        if (same) {
          /* The state is the object that opens the step JSON, after {"state":
           * (its length in bytes, which beyond ASCII is not in characters). */
          size_t length = (size_t)strtoul(field[7], NULL, 10);
          same = length + 9 <= out_len && strncmp(out, "{\"state\":", 9) == 0;
          if (same) {
            free(state);
            state = (char *)malloc(length + 1);
            memcpy(state, out + 9, length);
            state[length] = '\0';
            state_len = length;
            keyed += key != NULL;
            migrated += strstr(field[2], "\"migrate_policy\"") != NULL;
          }
        }
      } else {
        same = strcmp(offboard_status_name(status), field[6]) == 0;
      }
      if (!same && mismatches++ < 5) {
        fprintf(stderr, "conformance %s step %d: got %s\n", entry->d_name, line_no, offboard_status_name(status));
      }
      offboard_string_free(out);
      free(snapshot);
      steps++;
      line = next;
    }
    for (int i = 0; i < 2; i++) offboard_policy_free(policies[i]);
    free(state);
    free(lines);
    free(key);
    cases++;
  }
  closedir(dir);
  CHECK(cases >= 20 && steps > 600);
  CHECK(keyed > 100 && migrated >= 2);
  CHECK(mismatches == 0);
}

/* The step JSON is {"state":..,"effects":[..],"audit":[..],"notices":[..]}:
 * copies the ids of the step's effects into ids (up to max), returns how many. */
static int effect_ids(const char *step, char ids[][64], int max) {
  const char *end = strstr(step, "],\"audit\":[");
  if (end == NULL) return 0;
  const char *start = NULL;
  for (const char *p = strstr(step, "\"effects\":["); p != NULL && p < end; p = strstr(p + 1, "\"effects\":[")) start = p;
  int n = 0;
  for (const char *p = start ? strstr(start, "{\"id\":\"") : NULL; p != NULL && p < end && n < max; p = strstr(p + 1, "{\"id\":\"")) {
    const char *id = p + 7;
    const char *quote = strchr(id, '"');
    size_t id_len = (size_t)(quote - id);
    if (id_len >= 64) break;
    memcpy(ids[n], id, id_len);
    ids[n][id_len] = '\0';
    n++;
  }
  return n;
}

/* Appends the step's audit events to log (a JSON array being built). */
static void append_audit(char **log, const char *step) {
  const char *start = strstr(step, "],\"audit\":[");
  const char *end = strstr(step, "],\"notices\":[");
  if (start == NULL || end == NULL) return;
  start += strlen("],\"audit\":[");
  size_t add = (size_t)(end - start);
  if (add == 0) return;
  size_t have = strlen(*log);
  *log = (char *)realloc(*log, have + add + 2);
  if (have > 1) (*log)[have++] = ',';
  memcpy(*log + have, start, add);
  (*log)[have + add] = '\0';
}

/* Runs a command; replaces *state with the new state's JSON (state is the
 * step's "state" member, extracted by re-serialising through the step). */
static char *run(char **state, const char *command, const char *actor, OffboardPolicy *policy, const char *snapshot, size_t snapshot_len,
                 char **log, OffboardStatus *status) {
  char *step = NULL;
  size_t step_len = 0;
  *status = offboard_step(*state, strlen(*state), command, strlen(command), actor, strlen(actor), policy, snapshot, snapshot_len, LIT(NOW),
                          &step, &step_len);
  if (*status != OFFBOARD_STATUS_OK) return NULL;
  /* The state is the first member: {"state":{...},"effects":... */
  const char *begin = step + strlen("{\"state\":");
  const char *stop = strstr(step, "},\"effects\":[");
  const char *last = stop;
  for (const char *p = stop; p != NULL && p < strstr(step, "],\"audit\":["); p = strstr(p + 1, "},\"effects\":[")) last = p;
  size_t state_len = (size_t)(last + 1 - begin);
  free(*state);
  *state = (char *)malloc(state_len + 1);
  memcpy(*state, begin, state_len);
  (*state)[state_len] = '\0';
  append_audit(log, step);
  return step;
}

static void test_lifecycle(void) {
  OffboardPolicy *cascade = NULL;
  offboard_policy_preset(LIT("cascade"), &cascade);
  size_t snapshot_len = 0;
  char *snapshot = read_file("examples/data/team-owner.json", &snapshot_len);
  char *state_out = NULL;
  size_t state_out_len = 0;
  CHECK(offboard_state_new(LIT("cl_c"), LIT("u_omar"), &state_out, &state_out_len) == OFFBOARD_STATUS_OK);
  char *state = strdup(state_out);
  offboard_string_free(state_out);
  char *log = strdup("[");
  OffboardStatus status;

  char *step = run(&state, "{\"type\":\"request\"}", HOLDER_OMAR, cascade, snapshot, snapshot_len, &log, &status);
  CHECK(status == OFFBOARD_STATUS_OK && strstr(state, "\"phase\":\"awaiting_confirmation\"") != NULL);
  offboard_string_free(step);

  /* A command in the wrong phase is refused and changes nothing. */
  char *before = strdup(state);
  CHECK(run(&state, "{\"type\":\"retry\"}", "{\"id\":\"ops\",\"role\":\"support_operator\"}", cascade, NULL, 0, &log, &status) == NULL);
  CHECK(status == OFFBOARD_STATUS_WRONG_STATE && strcmp(before, state) == 0);
  free(before);

  step = run(&state, "{\"type\":\"confirm\",\"value\":\"omar@acme.test\"}", HOLDER_OMAR, cascade, snapshot, snapshot_len, &log, &status);
  CHECK(status == OFFBOARD_STATUS_OK && strstr(state, "\"phase\":\"executing\"") != NULL);

  /* Perform every effect, in the order issued, until the closure is closed. */
  char queue[256][64];
  int head = 0;
  int tail = effect_ids(step, queue, 256);
  offboard_string_free(step);
  int reported = 0;
  while (head < tail && reported < 200) {
    char command[256];
    snprintf(command, sizeof command, "{\"type\":\"report_outcome\",\"effect\":\"%s\",\"outcome\":{\"result\":\"succeeded\"}}", queue[head++]);
    step = run(&state, command, SYSTEM, cascade, snapshot, snapshot_len, &log, &status);
    CHECK(status == OFFBOARD_STATUS_OK);
    if (step == NULL) break;
    tail += effect_ids(step, queue + tail, 256 - tail);
    offboard_string_free(step);
    reported++;
  }
  CHECK(strstr(state, "\"phase\":\"closed\"") != NULL);
  CHECK(reported >= 10);

  /* The audit chain of the whole run verifies, against the state's head. */
  size_t log_len = strlen(log);
  log = (char *)realloc(log, log_len + 2);
  strcat(log, "]");
  const char *head_at = strstr(state, "\"head\":\"");
  char head_hash[65];
  memcpy(head_hash, head_at + 8, 64);
  head_hash[64] = '\0';
  char *verified = NULL;
  size_t verified_len = 0;
  CHECK(offboard_audit_verify(log, strlen(log), head_hash, 64, &verified, &verified_len) == OFFBOARD_STATUS_OK);
  CHECK(strstr(verified, "\"valid\":true") != NULL);
  offboard_string_free(verified);

  /* Unknown effects are refused. */
  CHECK(run(&state, "{\"type\":\"report_outcome\",\"effect\":\"ef_0\",\"outcome\":{\"result\":\"succeeded\"}}", SYSTEM, cascade, NULL, 0, &log,
            &status) == NULL);
  CHECK(status == OFFBOARD_STATUS_UNKNOWN_EFFECT);

  char *next = NULL;
  size_t next_len = 0;
  CHECK(offboard_next_tick(state, strlen(state), cascade, &next, &next_len) == OFFBOARD_STATUS_OK);
  CHECK(strcmp(next, "\"2026-12-21T10:00:00Z\"") == 0);
  offboard_string_free(next);

  free(log);
  free(state);
  free(snapshot);
  offboard_policy_free(cascade);
}

static void test_blocked_carries_blockers(void) {
  OffboardPolicy *prerequisite = NULL;
  offboard_policy_preset(LIT("prerequisite"), &prerequisite);
  size_t snapshot_len = 0;
  char *snapshot = read_file("examples/data/team-owner.json", &snapshot_len);
  char *state = NULL;
  size_t state_len = 0;
  offboard_state_new(LIT("cl_b"), LIT("u_omar"), &state, &state_len);
  char *out = NULL;
  size_t out_len = 0;
  CHECK(offboard_step(state, state_len, LIT("{\"type\":\"request\"}"), LIT(HOLDER_OMAR), prerequisite, snapshot, snapshot_len, LIT(NOW), &out,
                      &out_len) == OFFBOARD_STATUS_BLOCKED);
  CHECK(out == NULL);
  const char *json = offboard_last_error_json();
  CHECK(strstr(json, "\"code\":\"blocked\"") != NULL && count(json, "\"remedy\":") == 5);
  offboard_string_free(state);
  free(snapshot);
  offboard_policy_free(prerequisite);
}

static void test_diagram_and_schemas(void) {
  char *out = NULL;
  size_t len = 0;
  CHECK(offboard_diagram(&out, &len) == OFFBOARD_STATUS_OK && strncmp(out, "stateDiagram-v2", 15) == 0);
  offboard_string_free(out);
  CHECK(offboard_schemas(&out, &len) == OFFBOARD_STATUS_OK && strstr(out, "\"snapshot\":") != NULL);
  offboard_string_free(out);
}

/* Each thread sees its own last error. */
static void *thread_body(void *arg) {
  const char *name = (const char *)arg;
  OffboardPolicy *policy = NULL;
  for (int i = 0; i < 200; i++) {
    offboard_policy_preset(name, strlen(name), &policy);
    const char *message = offboard_last_error_message();
    if (message == NULL || strstr(message, name) == NULL) return (void *)1;
  }
  return NULL;
}

static void test_threads(void) {
  pthread_t a, b;
  void *ra = NULL, *rb = NULL;
  pthread_create(&a, NULL, thread_body, (void *)"first-unknown-preset");
  pthread_create(&b, NULL, thread_body, (void *)"second-unknown-preset");
  pthread_join(a, &ra);
  pthread_join(b, &rb);
  CHECK(ra == NULL && rb == NULL);
}

/* A closure handle steps as offboard_step does: after a request through both,
 * the handle's state is the step's state, byte for byte; a refused command
 * leaves the handle as it was; handles of the wrong kind, freed ones and NULL
 * out-parameters are reported. The policy handle may be freed once opened. */
static void test_closure_handle(void) {
  OffboardPolicy *policy = NULL;
  CHECK(offboard_policy_preset(LIT("cascade"), &policy) == OFFBOARD_STATUS_OK);
  size_t snapshot_len = 0;
  char *snapshot = read_file("examples/data/lone-user.json", &snapshot_len);
  const char *lena = "{\"id\":\"u_lena\",\"role\":\"user\",\"reauthenticated_at\":\"2026-11-23T10:00:00Z\"}";
  char *idle = NULL;
  size_t idle_len = 0;
  CHECK(offboard_state_new(LIT("cl_h"), LIT("u_lena"), &idle, &idle_len) == OFFBOARD_STATUS_OK);
  OffboardClosure *closure = NULL;
  CHECK(offboard_closure_open(idle, idle_len, policy, NULL, 0, NULL, 0, &closure) == OFFBOARD_STATUS_OK);
  CHECK(closure != NULL);
  CHECK(offboard_policy_free(policy) == OFFBOARD_STATUS_OK);

  char *change = NULL, *stepped = NULL, *held = NULL;
  size_t change_len = 0, stepped_len = 0, held_len = 0;
  CHECK(offboard_closure_step(closure, LIT("{\"type\":\"request\"}"), lena, strlen(lena), snapshot, snapshot_len, LIT(NOW),
                              &change, &change_len) == OFFBOARD_STATUS_OK);
  CHECK(change != NULL && strstr(change, "\"phase\":\"awaiting_confirmation\"") != NULL);
  CHECK(strstr(change, "\"version\":1") != NULL && strstr(change, "\"state\"") == NULL);
  OffboardPolicy *again = NULL;
  CHECK(offboard_policy_preset(LIT("cascade"), &again) == OFFBOARD_STATUS_OK);
  CHECK(offboard_step(idle, idle_len, LIT("{\"type\":\"request\"}"), lena, strlen(lena), again, snapshot, snapshot_len, LIT(NOW),
                      &stepped, &stepped_len) == OFFBOARD_STATUS_OK);
  CHECK(offboard_closure_state(closure, &held, &held_len) == OFFBOARD_STATUS_OK);
  CHECK(held != NULL && strlen(held) == held_len);
  /* The step JSON begins {"state":<the state>,... */
  CHECK(stepped != NULL && strncmp(stepped, "{\"state\":", 9) == 0 && stepped_len > 9 + held_len &&
        strncmp(stepped + 9, held, held_len) == 0);

  /* Refused: an effect the closure never issued. The handle keeps its state. */
  char *untouched = (char *)"sentinel";
  size_t untouched_len = 8;
  CHECK(offboard_closure_step(closure, LIT("{\"type\":\"report_outcome\",\"effect\":\"fx_nope\",\"outcome\":{\"result\":\"succeeded\"}}"),
                              LIT(SYSTEM), NULL, 0, LIT(NOW), &untouched, &untouched_len) == OFFBOARD_STATUS_UNKNOWN_EFFECT);
  CHECK(strcmp(untouched, "sentinel") == 0 && untouched_len == 8);
  char *after = NULL;
  size_t after_len = 0;
  CHECK(offboard_closure_state(closure, &after, &after_len) == OFFBOARD_STATUS_OK);
  CHECK(after != NULL && after_len == held_len && strcmp(after, held) == 0);

  /* The wrong kind of handle, NULLs, a freed handle. */
  CHECK(offboard_closure_state((const OffboardClosure *)again, &untouched, &untouched_len) == OFFBOARD_STATUS_INVALID_HANDLE);
  CHECK(offboard_closure_step(NULL, LIT("{\"type\":\"tick\"}"), LIT(SYSTEM), NULL, 0, LIT(NOW), &untouched, &untouched_len) ==
        OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(offboard_closure_state(closure, NULL, &untouched_len) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(offboard_closure_open(idle, idle_len, again, NULL, 0, NULL, 0, NULL) == OFFBOARD_STATUS_NULL_ARGUMENT);
  CHECK(offboard_closure_open(LIT("{"), again, NULL, 0, NULL, 0, &closure) == OFFBOARD_STATUS_MALFORMED_JSON);
  CHECK(offboard_closure_free(closure) == OFFBOARD_STATUS_OK);
  CHECK(offboard_closure_free(closure) == OFFBOARD_STATUS_INVALID_HANDLE);
  CHECK(offboard_closure_state(closure, &untouched, &untouched_len) == OFFBOARD_STATUS_INVALID_HANDLE);
  CHECK(strcmp(untouched, "sentinel") == 0);
  CHECK(offboard_closure_free(NULL) == OFFBOARD_STATUS_OK);

  offboard_string_free(change);
  offboard_string_free(stepped);
  offboard_string_free(held);
  offboard_string_free(after);
  offboard_string_free(idle);
  offboard_policy_free(again);
  free(snapshot);
}

int main(void) {
  test_policy_handles();
  test_assess_samples();
  test_bad_arguments();
  test_corpus();
  test_step_corpus();
  test_conformance_corpus();
  test_digest();
  test_audit_tampering();
  test_keyed_audit();
  test_lifecycle();
  test_blocked_carries_blockers();
  test_diagram_and_schemas();
  test_threads();
  test_closure_handle();
  printf("# pass %d\n# fail %d\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
