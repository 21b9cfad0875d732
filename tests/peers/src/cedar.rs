//! The Cedar encoding (`closure.cedar`), evaluated with the `cedar-policy`
//! crate. Cedar answers one request at a time, so [`Cedar::blockers`] turns
//! the snapshot into Cedar entities and asks once per thing in it, with that
//! thing as the resource; the `forbid` policies that deny a request are its
//! blockers, named by their `@code` annotation.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression,
};
use serde_json::{json, Map, Value};

use crate::{canonical, Found};

/// The Cedar encoding of the blocker rules.
pub const CLOSURE_CEDAR: &str = include_str!("../closure.cedar");

/// The Cedar policies, parsed once, with the blocker code of each `forbid`.
#[derive(Debug)]
pub struct Cedar {
    policies: PolicySet,
    codes: HashMap<PolicyId, String>,
    authorizer: Authorizer,
    close: EntityUid,
    types: Types,
}

/// The entity type names, parsed once.
#[derive(Debug)]
struct Types {
    user: EntityTypeName,
    account: EntityTypeName,
    tenant: EntityTypeName,
    subscription: EntityTypeName,
    payment_method: EntityTypeName,
    invoice: EntityTypeName,
    domain: EntityTypeName,
    legal_hold: EntityTypeName,
    balance: EntityTypeName,
}

impl Types {
    fn new() -> Result<Types, String> {
        let name = |text: &str| EntityTypeName::from_str(text).map_err(|e| e.to_string());
        Ok(Types {
            user: name("User")?,
            account: name("Account")?,
            tenant: name("Tenant")?,
            subscription: name("Subscription")?,
            payment_method: name("PaymentMethod")?,
            invoice: name("Invoice")?,
            domain: name("Domain")?,
            legal_hold: name("LegalHold")?,
            balance: name("Balance")?,
        })
    }
}

fn uid(kind: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(kind.clone(), EntityId::new(id))
}

fn text<'a>(object: &'a Value, key: &str) -> Result<&'a str, String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{key}` is not a string in {object}"))
}

/// `key` of `object`, null when it is absent.
fn field<'a>(object: &'a Value, key: &str) -> &'a Value {
    object.get(key).unwrap_or(&Value::Null)
}

/// `key` of `object`, unless it is absent or null.
fn present<'a>(object: &'a Value, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|v| !v.is_null())
}

fn items<'a>(object: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    object
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// An RFC 3339 time as nanoseconds since 1970.
fn nanos(value: &Value) -> Result<i64, String> {
    let text = value
        .as_str()
        .ok_or_else(|| format!("{value} is not a time"))?;
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
        .ok_or_else(|| format!("`{text}` is not an RFC 3339 time in range"))
}

/// Any JSON value as a Cedar value: objects become records, arrays sets,
/// integers longs; nulls are left out (Cedar has none).
fn restricted(value: &Value) -> Result<RestrictedExpression, String> {
    Ok(match value {
        Value::Bool(b) => RestrictedExpression::new_bool(*b),
        Value::Number(n) => RestrictedExpression::new_long(
            n.as_i64().ok_or_else(|| format!("{n} is not an integer"))?,
        ),
        Value::String(s) => RestrictedExpression::new_string(s.clone()),
        Value::Array(items) => RestrictedExpression::new_set(
            items
                .iter()
                .filter(|v| !v.is_null())
                .map(restricted)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Value::Object(fields) => record(fields)?,
        Value::Null => return Err("null has no Cedar value".to_owned()),
    })
}

fn record(fields: &Map<String, Value>) -> Result<RestrictedExpression, String> {
    let fields = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| Ok((k.clone(), restricted(v)?)))
        .collect::<Result<Vec<_>, String>>()?;
    RestrictedExpression::new_record(fields).map_err(|e| e.to_string())
}

/// Attributes of one entity under construction.
#[derive(Default)]
struct Attrs(HashMap<String, RestrictedExpression>);

impl Attrs {
    fn set(&mut self, key: &str, value: RestrictedExpression) -> &mut Attrs {
        self.0.insert(key.to_owned(), value);
        self
    }

    /// Copies `key` from the JSON object when it is present.
    fn copy(&mut self, object: &Value, key: &str) -> Result<&mut Attrs, String> {
        if let Some(value) = present(object, key) {
            self.set(key, restricted(value)?);
        }
        Ok(self)
    }

    /// The thing's `tenant` as a reference to the Tenant entity.
    fn tenant(&mut self, types: &Types, object: &Value) -> Result<&mut Attrs, String> {
        if let Some(tenant) = present(object, "tenant") {
            let id = tenant
                .as_str()
                .ok_or("a tenant reference is not a string")?;
            self.set(
                "tenant",
                RestrictedExpression::new_entity_uid(uid(&types.tenant, id)),
            );
        }
        Ok(self)
    }

    /// A time field as nanoseconds, under `as_key`.
    fn time(&mut self, object: &Value, key: &str, as_key: &str) -> Result<&mut Attrs, String> {
        if let Some(value) = present(object, key) {
            self.set(as_key, RestrictedExpression::new_long(nanos(value)?));
        }
        Ok(self)
    }
}

/// How one array of the snapshot becomes entities.
struct Collection<'a> {
    /// The array's key in the snapshot.
    key: &'static str,
    /// The entity type.
    kind: &'a EntityTypeName,
    /// The blocker subject's `kind`.
    subject: &'static str,
    /// The field that names a thing (also the subject's key for it).
    id: &'static str,
    /// Fields copied as they are.
    fields: &'static [&'static str],
    /// Times, renamed, as nanoseconds.
    times: &'static [(&'static str, &'static str)],
}

/// The entities of one assessment, and the resources to ask about, each with
/// its blocker subject.
struct Built {
    entities: Vec<Entity>,
    asks: Vec<(EntityUid, Value)>,
}

impl Built {
    /// Adds an entity and asks about it, as the blocker subject `subject`.
    fn add(&mut self, uid: EntityUid, attrs: Attrs, subject: Value) -> Result<(), String> {
        self.asks.push((uid.clone(), subject));
        let entity = Entity::new(uid, attrs.0, HashSet::new()).map_err(|e| e.to_string())?;
        self.entities.push(entity);
        Ok(())
    }
}

impl Cedar {
    /// Parses `closure.cedar` and reads each `forbid`'s `@code`.
    pub fn new() -> Result<Cedar, String> {
        let policies = PolicySet::from_str(CLOSURE_CEDAR).map_err(|e| e.to_string())?;
        let codes = policies
            .policies()
            .filter_map(|p| Some((p.id().clone(), p.annotation("code")?.to_owned())))
            .collect();
        let close = EntityUid::from_str(r#"Action::"close""#).map_err(|e| e.to_string())?;
        Ok(Cedar {
            policies,
            codes,
            authorizer: Authorizer::new(),
            close,
            types: Types::new()?,
        })
    }

    /// The blockers the Cedar policies find for these four documents, given
    /// as the same JSON texts `offboard::json::assess` takes (`now` unquoted).
    pub fn blockers(
        &self,
        snapshot: &str,
        actor: &str,
        policy: &str,
        now: &str,
    ) -> Result<Vec<Found>, String> {
        let snapshot: Value = serde_json::from_str(snapshot).map_err(|e| e.to_string())?;
        let actor: Value = serde_json::from_str(actor).map_err(|e| e.to_string())?;
        let policy: Value = serde_json::from_str(policy).map_err(|e| e.to_string())?;
        let now = nanos(&Value::String(now.to_owned()))?;

        let built = self.entities(&snapshot, &actor)?;
        let principal = uid(&self.types.user, text(&actor, "id")?);
        let account = uid(
            &self.types.account,
            text(field(&snapshot, "account"), "id")?,
        );
        let policy = match &policy {
            Value::Object(fields) => record(fields)?,
            _ => return Err("the policy is not an object".to_owned()),
        };
        let context = Context::from_pairs([
            (
                "account".to_owned(),
                RestrictedExpression::new_entity_uid(account),
            ),
            ("now_ns".to_owned(), RestrictedExpression::new_long(now)),
            ("policy".to_owned(), policy),
        ])
        .map_err(|e| e.to_string())?;
        let entities = Entities::from_entities(built.entities, None).map_err(|e| e.to_string())?;

        let mut found = Vec::new();
        for (resource, subject) in built.asks {
            let request = Request::new(
                principal.clone(),
                self.close.clone(),
                resource,
                context.clone(),
                None,
            )
            .map_err(|e| e.to_string())?;
            let response = self
                .authorizer
                .is_authorized(&request, &self.policies, &entities);
            if let Some(error) = response.diagnostics().errors().next() {
                return Err(format!("a policy failed on {subject}: {error}"));
            }
            if response.decision() == Decision::Allow {
                continue;
            }
            for id in response.diagnostics().reason() {
                let code = self
                    .codes
                    .get(id)
                    .ok_or_else(|| format!("policy {id} denies but has no @code"))?;
                found.push((code.clone(), canonical(&subject)));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The snapshot and the actor as Cedar entities.
    fn entities(&self, snapshot: &Value, actor: &Value) -> Result<Built, String> {
        let t = &self.types;
        let mut built = Built {
            entities: Vec::new(),
            asks: Vec::new(),
        };

        let actor_id = text(actor, "id")?;
        let mut attrs = Attrs::default();
        attrs
            .copy(actor, "role")?
            .time(actor, "reauthenticated_at", "reauthenticated_ns")?;
        built.add(
            uid(&t.user, actor_id),
            attrs,
            json!({"kind": "actor", "id": actor_id}),
        )?;

        let account = field(snapshot, "account");
        let account_id = text(account, "id")?;
        let mut attrs = Attrs::default();
        attrs
            .copy(account, "status")?
            .set("kind", restricted(field(field(account, "kind"), "type"))?)
            .set(
                "identity",
                restricted(field(field(account, "identity"), "type"))?,
            )
            .set(
                "holder",
                RestrictedExpression::new_entity_uid(uid(&t.user, account_id)),
            );
        if let Some(admin) = present(field(account, "identity"), "super_admin") {
            let admin = admin.as_str().ok_or("super_admin is not a string")?;
            attrs.set(
                "super_admin",
                RestrictedExpression::new_entity_uid(uid(&t.user, admin)),
            );
        }
        built.add(
            uid(&t.account, account_id),
            attrs,
            json!({"kind": "account", "id": account_id}),
        )?;

        if let Some(amount) = present(snapshot, "balance").and_then(|b| present(b, "amount")) {
            let mut attrs = Attrs::default();
            attrs.set("amount", restricted(amount)?);
            built.add(
                uid(&t.balance, "account"),
                attrs,
                json!({"kind": "balance"}),
            )?;
        }

        for tenant in items(snapshot, "tenants") {
            let id = text(tenant, "id")?;
            let members = items(tenant, "members").count();
            let owners = items(tenant, "members")
                .filter(|m| m.get("role").and_then(Value::as_str) == Some("owner"))
                .count();
            let mut attrs = Attrs::default();
            attrs
                .set(
                    "primary_owner",
                    RestrictedExpression::new_entity_uid(uid(
                        &t.user,
                        text(tenant, "primary_owner")?,
                    )),
                )
                .set(
                    "member_count",
                    RestrictedExpression::new_long(i64::try_from(members).unwrap_or(i64::MAX)),
                )
                .set(
                    "owner_count",
                    RestrictedExpression::new_long(i64::try_from(owners).unwrap_or(i64::MAX)),
                );
            built.add(
                uid(&t.tenant, id),
                attrs,
                json!({"kind": "tenant", "id": id}),
            )?;
            if let Some(amount) = present(tenant, "balance").and_then(|b| present(b, "amount")) {
                let mut attrs = Attrs::default();
                attrs.set("amount", restricted(amount)?).set(
                    "tenant",
                    RestrictedExpression::new_entity_uid(uid(&t.tenant, id)),
                );
                built.add(
                    uid(&t.balance, &format!("tenant:{id}")),
                    attrs,
                    json!({"kind": "balance", "tenant": id}),
                )?;
            }
        }

        let collections = [
            Collection {
                key: "subscriptions",
                kind: &t.subscription,
                subject: "subscription",
                id: "id",
                fields: &["status", "cancel_at_period_end", "add_on_of"],
                times: &[],
            },
            Collection {
                key: "payment_methods",
                kind: &t.payment_method,
                subject: "payment_method",
                id: "id",
                fields: &[],
                times: &[],
            },
            Collection {
                key: "invoices",
                kind: &t.invoice,
                subject: "invoice",
                id: "id",
                fields: &["status", "amount_due"],
                times: &[],
            },
            Collection {
                key: "domains",
                kind: &t.domain,
                subject: "domain",
                id: "name",
                fields: &["active", "setup", "registration"],
                times: &[],
            },
            Collection {
                key: "legal_holds",
                kind: &t.legal_hold,
                subject: "legal_hold",
                id: "id",
                fields: &[],
                times: &[("placed_at", "placed_ns"), ("until", "until_ns")],
            },
        ];
        for c in collections {
            for thing in items(snapshot, c.key) {
                let id = text(thing, c.id)?;
                let mut attrs = Attrs::default();
                for field in c.fields {
                    attrs.copy(thing, field)?;
                }
                for (from, to) in c.times {
                    attrs.time(thing, from, to)?;
                }
                attrs.tenant(t, thing)?;
                let subject = json!({"kind": c.subject, c.id: id});
                built.add(uid(c.kind, id), attrs, subject)?;
            }
        }
        Ok(built)
    }
}
