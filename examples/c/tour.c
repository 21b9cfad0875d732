/*
 * The C tour: assess a sample account, then close it under the cascade
 * policy and run the closure to its end (purged), as a C host would: perform
 * each effect, report its outcome, tick when the state says. JSON is read
 * with cJSON (Debian's libcjson-dev). Build it against an installed copy:
 *
 *   ./scripts/install-c.sh "$HOME/.local"
 *   export PKG_CONFIG_PATH="$HOME/.local/lib/pkgconfig"
 *   cc -std=c99 examples/c/tour.c $(pkg-config --cflags --libs offboard libcjson) -o tour
 *   ./tour examples/data/team-owner.json
 */
#include "offboard.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIT(s) s, (sizeof(s) - 1)

#if OFFBOARD_VERSION_MAJOR != 0 || OFFBOARD_VERSION_MINOR < 1
#error "this tour is written for offboard 0.1 or newer in the 0.x series"
#endif

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
  long size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
  char *data = (char *)malloc((size_t)size + 1);
  if (data == NULL) { fclose(f); return NULL; }
  *len = fread(data, 1, (size_t)size, f);
  data[*len] = '\0';
  fclose(f);
  return data;
}

static int fail(const char *what, OffboardStatus status) {
  fprintf(stderr, "%s failed: [%s] %s\n", what, offboard_status_name(status), offboard_last_error_message());
  return 1;
}

/* The closure as the host keeps it: the state JSON, the effects due, the
 * snapshot while the account exists, and the time. */
struct closure {
  const OffboardPolicy *policy;
  char *state;
  cJSON *due;         /* array of effects issued and not yet reported */
  const char *snapshot; /* NULL once the account is deleted */
  size_t snapshot_len;
  char now[64];
};

/* One step: applies `command` as `actor`, keeps the new state, queues the
 * effects it issued and prints its audit events. */
static OffboardStatus step(struct closure *c, const char *command, const char *actor) {
  char *out = NULL;
  size_t out_len = 0;
  OffboardStatus status = offboard_step(c->state, strlen(c->state), command, strlen(command), actor, strlen(actor),
                                        c->policy, c->snapshot, c->snapshot_len, c->now, strlen(c->now), &out, &out_len);
  if (status != OFFBOARD_STATUS_OK) return status;
  cJSON *parsed = cJSON_ParseWithLength(out, out_len);
  offboard_string_free(out);
  if (parsed == NULL) return OFFBOARD_STATUS_MALFORMED_JSON;
  free(c->state);
  c->state = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(parsed, "state"));
  const cJSON *event = NULL;
  cJSON_ArrayForEach(event, cJSON_GetObjectItemCaseSensitive(parsed, "audit")) {
    const cJSON *what = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(event, "event"), "kind");
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(event, "to");
    printf("  %.16s  %-26s -> %s\n", c->now, cJSON_IsString(what) ? what->valuestring : "?",
           cJSON_IsString(to) ? to->valuestring : "?");
  }
  cJSON *effects = cJSON_DetachItemFromObjectCaseSensitive(parsed, "effects");
  cJSON *effect = NULL;
  while (effects != NULL && (effect = cJSON_DetachItemFromArray(effects, 0)) != NULL) {
    cJSON_AddItemToArray(c->due, effect);
  }
  cJSON_Delete(effects);
  cJSON_Delete(parsed);
  return OFFBOARD_STATUS_OK;
}

/* The phase name of the closure's state. */
static const char *phase_of(const char *state, char *buffer, size_t size) {
  cJSON *parsed = cJSON_Parse(state);
  const cJSON *phase = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(parsed, "phase"), "phase");
  snprintf(buffer, size, "%s", cJSON_IsString(phase) ? phase->valuestring : "?");
  cJSON_Delete(parsed);
  return buffer;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "examples/data/team-owner.json";
  size_t len = 0;
  char *snapshot = read_file(path, &len);
  if (snapshot == NULL) {
    fprintf(stderr, "cannot read %s (run me from the repository root, or name a snapshot)\n", path);
    return 1;
  }
  cJSON *parsed_snapshot = cJSON_ParseWithLength(snapshot, len);
  const cJSON *account = cJSON_GetObjectItemCaseSensitive(parsed_snapshot, "account");
  const cJSON *account_id = cJSON_GetObjectItemCaseSensitive(account, "id");
  const cJSON *email = cJSON_GetObjectItemCaseSensitive(account, "email");
  const cJSON *taken_at = cJSON_GetObjectItemCaseSensitive(parsed_snapshot, "taken_at");
  if (!cJSON_IsString(account_id) || !cJSON_IsString(email) || !cJSON_IsString(taken_at)) {
    fprintf(stderr, "%s is not an account snapshot\n", path);
    return 1;
  }
  char holder[512];
  snprintf(holder, sizeof holder, "{\"id\":\"%s\",\"role\":\"user\",\"reauthenticated_at\":\"%s\"}",
           account_id->valuestring, taken_at->valuestring);
  const char system[] = "{\"id\":\"system\",\"role\":\"system\"}";

  OffboardPolicy *prerequisite = NULL, *cascade = NULL;
  OffboardStatus status = offboard_policy_preset(LIT("prerequisite"), &prerequisite);
  if (status != OFFBOARD_STATUS_OK) return fail("policy", status);
  status = offboard_policy_preset(LIT("cascade"), &cascade);
  if (status != OFFBOARD_STATUS_OK) return fail("policy", status);

  /* 1. What stands in the way under the prerequisite policy. */
  char *report = NULL;
  size_t report_len = 0;
  status = offboard_assess(snapshot, len, holder, strlen(holder), prerequisite, taken_at->valuestring,
                           strlen(taken_at->valuestring), &report, &report_len);
  if (status != OFFBOARD_STATUS_OK) return fail("assess", status);
  cJSON *assessment = cJSON_ParseWithLength(report, report_len);
  offboard_string_free(report);
  printf("offboard %s (header %s): %s under the prerequisite policy\n", offboard_version(), OFFBOARD_VERSION,
         account_id->valuestring);
  const cJSON *blocker = NULL;
  cJSON_ArrayForEach(blocker, cJSON_GetObjectItemCaseSensitive(assessment, "blockers")) {
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(blocker, "code");
    const cJSON *remedy = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(blocker, "remedy"), "message");
    printf("  blocked: [%s] %s\n", code->valuestring, remedy->valuestring);
  }
  cJSON_Delete(assessment);

  /* 2. Under the cascade policy: request, confirm, then the worker's loop. */
  struct closure c = {cascade, NULL, cJSON_CreateArray(), snapshot, len, ""};
  snprintf(c.now, sizeof c.now, "%s", taken_at->valuestring);
  size_t state_len = 0;
  status = offboard_state_new(LIT("cl_tour"), account_id->valuestring, strlen(account_id->valuestring), &c.state,
                              &state_len);
  if (status != OFFBOARD_STATUS_OK) return fail("state", status);
  /* offboard_string_free owns library strings; the loop's state is malloc'd. */
  char *owned = (char *)malloc(state_len + 1);
  memcpy(owned, c.state, state_len + 1);
  offboard_string_free(c.state);
  c.state = owned;

  printf("closing it under the cascade policy:\n");
  if ((status = step(&c, "{\"type\":\"request\"}", holder)) != OFFBOARD_STATUS_OK) return fail("request", status);
  char confirm[512];
  snprintf(confirm, sizeof confirm, "{\"type\":\"confirm\",\"value\":\"%s\"}", email->valuestring);
  if ((status = step(&c, confirm, holder)) != OFFBOARD_STATUS_OK) return fail("confirm", status);

  int performed = 0;
  for (int round = 0; round < 10000; round++) {
    cJSON *effect = cJSON_DetachItemFromArray(c.due, 0);
    if (effect != NULL) {
      /* Perform it (idempotently, keyed by its id); here every one succeeds. */
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(effect, "id");
      const cJSON *type = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(effect, "action"), "type");
      printf("  %.16s    performs %s\n", c.now, type->valuestring);
      performed++;
      if (strcmp(type->valuestring, "delete_account") == 0) {
        c.snapshot = NULL; /* the account is gone: no more snapshots */
        c.snapshot_len = 0;
      }
      char report_cmd[512];
      snprintf(report_cmd, sizeof report_cmd,
               "{\"type\":\"report_outcome\",\"effect\":\"%s\",\"outcome\":{\"result\":\"succeeded\"}}", id->valuestring);
      cJSON_Delete(effect);
      if ((status = step(&c, report_cmd, system)) != OFFBOARD_STATUS_OK) return fail("report_outcome", status);
      continue;
    }
    /* Nothing due: sleep until the state's next tick, if it names one. */
    char *tick = NULL;
    size_t tick_len = 0;
    if ((status = offboard_next_tick(c.state, strlen(c.state), cascade, &tick, &tick_len)) != OFFBOARD_STATUS_OK)
      return fail("next_tick", status);
    cJSON *at = cJSON_ParseWithLength(tick, tick_len);
    offboard_string_free(tick);
    if (!cJSON_IsString(at)) {
      cJSON_Delete(at);
      break; /* nothing left to wait for */
    }
    if (strcmp(at->valuestring, c.now) > 0) snprintf(c.now, sizeof c.now, "%s", at->valuestring);
    cJSON_Delete(at);
    if ((status = step(&c, "{\"type\":\"tick\"}", system)) != OFFBOARD_STATUS_OK) return fail("tick", status);
  }

  char phase[64];
  printf("%d effects performed; final phase: %s\n", performed, phase_of(c.state, phase, sizeof phase));
  int purged = strcmp(phase, "purged") == 0;

  free(c.state);
  cJSON_Delete(c.due);
  cJSON_Delete(parsed_snapshot);
  offboard_policy_free(prerequisite);
  offboard_policy_free(cascade);
  free(snapshot);
  return purged ? 0 : 3;
}
