//! Accounts in normalised tables, as a product keeps them: `users`,
//! `tenants`, `memberships`, `subscriptions`, `domains`, `payment_methods`,
//! `invoices`, `legal_holds` and `legal_hold_classes` (migration 0004). A
//! snapshot is assembled from them by queries ([`read`]); the import
//! endpoint writes them ([`write`]).
//!
//! Ids are global, as in a product. A tenant is one row however many of its
//! members' accounts list it, so importing one member's account replaces
//! the tenant for every member: its row, its members and its records. A
//! record is owned by the account (`owner_user`) or by one tenant
//! (`tenant_id`).
//!
//! An import replaces what the account owns and what its tenants own. It is
//! refused (`import_conflict`, and nothing is written) when a record id it
//! names belongs to another account or to a tenant it does not list, or
//! when it would leave another account's snapshot invalid (say, by taking
//! the primary owner out of a tenant another account still lists).
//!
//! Lists come back ordered by id, members in their tenant's order and a
//! hold's classes in the order they were given. Times are kept to the
//! microsecond, as PostgreSQL keeps them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use offboard::model::{
    Account, AccountKind, Balance, Contact, Domain, DomainSetup, Identity, Invoice, LegalHold,
    Member, PaymentMethod, Registration, Subscription, Tenant, SNAPSHOT_VERSION,
};
use offboard::Snapshot;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sqlx::{AnyConnection, Row};

use crate::error::ServiceError;

/// The tables records are owned in (by an account or a tenant), children
/// of nothing else.
const OWNED: [&str; 4] = ["subscriptions", "domains", "payment_methods", "invoices"];

/// A value's serde word (`active`, `card`, `USD`, an id), as stored.
fn word<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A stored word read back through the library's own parsing, so a row
/// edited by hand into something the library refuses is reported, not used.
fn parse<T: DeserializeOwned>(what: &str, text: String) -> Result<T, ServiceError> {
    serde_json::from_value(Value::String(text.clone()))
        .map_err(|e| ServiceError::Corrupt(format!("{what} `{text}`: {e}")))
}

fn parse_opt<T: DeserializeOwned>(
    what: &str,
    text: Option<String>,
) -> Result<Option<T>, ServiceError> {
    text.map(|t| parse(what, t)).transpose()
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(what: &str, micros: i64) -> Result<DateTime<Utc>, ServiceError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| ServiceError::Corrupt(format!("{what}: {micros} µs is not a time")))
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn balance(
    what: &str,
    amount: Option<i64>,
    currency: Option<String>,
) -> Result<Option<Balance>, ServiceError> {
    match (amount, currency) {
        (Some(amount), Some(currency)) => Ok(Some(Balance {
            amount,
            currency: parse(what, currency)?,
        })),
        _ => Ok(None),
    }
}

/// The owner columns of a record: the account's id when no tenant owns it.
fn owner<'a>(
    account: &'a str,
    tenant: Option<&'a offboard::model::TenantId>,
) -> (Option<&'a str>, Option<&'a str>) {
    match tenant {
        Some(t) => (None, Some(t.as_str())),
        None => (Some(account), None),
    }
}

/// A unique violation on insert: the id is someone else's.
fn taken(err: sqlx::Error, what: &str, id: &str) -> ServiceError {
    let unique = err
        .as_database_error()
        .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::UniqueViolation);
    if unique {
        ServiceError::ImportConflict(format!(
            "{what} `{id}` belongs to another account, or to a tenant this snapshot does not list"
        ))
    } else {
        ServiceError::Storage(err)
    }
}

/// Writes `snapshot` into the tables, replacing what its account and its
/// tenants owned, inside the caller's transaction. Returns the other
/// accounts whose snapshots the write touched (members of a tenant it
/// replaced or left), for the caller to check before committing.
pub(crate) async fn write(
    conn: &mut AnyConnection,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
) -> Result<Vec<String>, ServiceError> {
    let account = &snapshot.account;
    let id = account.id.as_str();

    // The tenants the account was in before, to find who else is touched.
    let mut touched: Vec<String> =
        sqlx::query("SELECT tenant_id FROM memberships WHERE user_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;

    // What the account owned and where it was a member: replaced below.
    delete(conn, id).await?;

    let (kind, success) = match &account.kind {
        AccountKind::SelfServe => ("self_serve", None),
        AccountKind::Contract { customer_success } => ("contract", Some(customer_success)),
    };
    let (identity, sso) = match &account.identity {
        Identity::Password => ("password", None),
        Identity::Sso {
            provider,
            super_admin,
        } => ("sso", Some((provider.as_str(), super_admin.as_str()))),
    };
    sqlx::query(
        "INSERT INTO users (id, email, display_name, kind, success_name, success_email, identity,
                            sso_provider, sso_super_admin, status, balance_amount,
                            balance_currency, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(account.email.as_str())
    .bind(account.display_name.as_str())
    .bind(kind)
    .bind(success.map(|c| c.name.as_str()))
    .bind(success.map(|c| c.email.as_str()))
    .bind(identity)
    .bind(sso.map(|s| s.0))
    .bind(sso.map(|s| s.1))
    .bind(word(&account.status))
    .bind(snapshot.balance.map(|b| b.amount))
    .bind(snapshot.balance.map(|b| word(&b.currency)))
    .bind(micros(now))
    .execute(&mut *conn)
    .await?;

    for tenant in &snapshot.tenants {
        write_tenant(conn, tenant, now).await?;
        touched.push(tenant.id.as_str().to_owned());
    }
    for s in &snapshot.subscriptions {
        let (user, tenant) = owner(id, s.tenant.as_ref());
        sqlx::query(
            "INSERT INTO subscriptions (id, owner_user, tenant_id, plan, add_on_of, status,
                                        current_period_end, cancel_at_period_end)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.id.as_str())
        .bind(user)
        .bind(tenant)
        .bind(s.plan.as_str())
        .bind(s.add_on_of.as_ref().map(|a| a.as_str()))
        .bind(word(&s.status))
        .bind(micros(s.current_period_end))
        .bind(flag(s.cancel_at_period_end))
        .execute(&mut *conn)
        .await
        .map_err(|e| taken(e, "subscription", s.id.as_str()))?;
    }
    for d in &snapshot.domains {
        let (user, tenant) = owner(id, d.tenant.as_ref());
        let (setup, pointing) = match d.setup {
            DomainSetup::Full {
                nameservers_point_here,
            } => ("full", nameservers_point_here),
            DomainSetup::Partial { cname_records_live } => ("partial", cname_records_live),
        };
        sqlx::query(
            "INSERT INTO domains (name, owner_user, tenant_id, active, setup, pointing_here,
                                  auto_renew, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.name.as_str())
        .bind(user)
        .bind(tenant)
        .bind(flag(d.active))
        .bind(setup)
        .bind(flag(pointing))
        .bind(d.registration.map(|r| flag(r.auto_renew)))
        .bind(d.registration.map(|r| micros(r.expires_at)))
        .execute(&mut *conn)
        .await
        .map_err(|e| taken(e, "domain", d.name.as_str()))?;
    }
    for p in &snapshot.payment_methods {
        let (user, tenant) = owner(id, p.tenant.as_ref());
        sqlx::query(
            "INSERT INTO payment_methods (id, owner_user, tenant_id, kind) VALUES ($1, $2, $3, $4)",
        )
        .bind(p.id.as_str())
        .bind(user)
        .bind(tenant)
        .bind(word(&p.kind))
        .execute(&mut *conn)
        .await
        .map_err(|e| taken(e, "payment method", p.id.as_str()))?;
    }
    for i in &snapshot.invoices {
        let (user, tenant) = owner(id, i.tenant.as_ref());
        let amount = i64::try_from(i.amount_due).map_err(|_| {
            ServiceError::BadBody(format!(
                "invoice `{}`: amount_due {} is more than this service stores",
                i.id, i.amount_due
            ))
        })?;
        sqlx::query(
            "INSERT INTO invoices (id, owner_user, tenant_id, subscription_id, status, amount_due,
                                   currency, issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(i.id.as_str())
        .bind(user)
        .bind(tenant)
        .bind(i.subscription.as_ref().map(|s| s.as_str()))
        .bind(word(&i.status))
        .bind(amount)
        .bind(word(&i.currency))
        .bind(micros(i.issued_at))
        .execute(&mut *conn)
        .await
        .map_err(|e| taken(e, "invoice", i.id.as_str()))?;
    }
    for h in &snapshot.legal_holds {
        sqlx::query(
            "INSERT INTO legal_holds (id, user_id, reason, placed_by, placed_at, until)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(h.id.as_str())
        .bind(id)
        .bind(word(&h.reason))
        .bind(h.placed_by.as_str())
        .bind(micros(h.placed_at))
        .bind(h.until.map(micros))
        .execute(&mut *conn)
        .await
        .map_err(|e| taken(e, "legal hold", h.id.as_str()))?;
        for (position, class) in (0_i64..).zip(&h.classes) {
            sqlx::query(
                "INSERT INTO legal_hold_classes (hold_id, class, position) VALUES ($1, $2, $3)",
            )
            .bind(h.id.as_str())
            .bind(word(class))
            .bind(position)
            .execute(&mut *conn)
            .await?;
        }
    }

    // Every other account in a tenant the write replaced or left.
    touched.sort();
    touched.dedup();
    let mut others = Vec::new();
    for tenant in &touched {
        let rows = sqlx::query(
            "SELECT m.user_id FROM memberships m JOIN users u ON u.id = m.user_id
             WHERE m.tenant_id = $1 AND m.user_id <> $2",
        )
        .bind(tenant.as_str())
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            others.push(r.try_get::<String, _>(0)?);
        }
    }
    others.sort();
    others.dedup();
    Ok(others)
}

/// Replaces a tenant's row, its members and the records it owns.
async fn write_tenant(
    conn: &mut AnyConnection,
    tenant: &Tenant,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let id = tenant.id.as_str();
    sqlx::query(
        "INSERT INTO tenants (id, name, primary_owner, balance_amount, balance_currency, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name,
             primary_owner = excluded.primary_owner, balance_amount = excluded.balance_amount,
             balance_currency = excluded.balance_currency, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(tenant.name.as_str())
    .bind(tenant.primary_owner.as_str())
    .bind(tenant.balance.map(|b| b.amount))
    .bind(tenant.balance.map(|b| word(&b.currency)))
    .bind(micros(now))
    .execute(&mut *conn)
    .await?;
    clear_tenant(conn, id).await?;
    for (position, member) in (0_i64..).zip(&tenant.members) {
        sqlx::query(
            "INSERT INTO memberships (tenant_id, user_id, role, position) VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(member.user.as_str())
        .bind(word(&member.role))
        .bind(position)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes the account: its row, what it owns, its legal holds and its
/// memberships (the tenants themselves stay: other members may list them).
/// What the identity system's `delete_account` does, and what an import
/// clears before writing the account again.
pub(crate) async fn delete(conn: &mut AnyConnection, id: &str) -> Result<(), ServiceError> {
    for sql in [
        "DELETE FROM subscriptions WHERE owner_user = $1",
        "DELETE FROM domains WHERE owner_user = $1",
        "DELETE FROM payment_methods WHERE owner_user = $1",
        "DELETE FROM invoices WHERE owner_user = $1",
        "DELETE FROM legal_hold_classes WHERE hold_id IN (SELECT id FROM legal_holds WHERE user_id = $1)",
        "DELETE FROM legal_holds WHERE user_id = $1",
        "DELETE FROM memberships WHERE user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Takes `user` out of `tenant`, as the identity system's `leave_tenant`
/// and `remove_members` do.
pub(crate) async fn remove_member(
    conn: &mut AnyConnection,
    tenant: &str,
    user: &str,
) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM memberships WHERE tenant_id = $1 AND user_id = $2")
        .bind(tenant)
        .bind(user)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether the service knows account `id`: it has a row, or a closure
/// (an account deleted by its closure is still known).
pub(crate) async fn known(conn: &mut AnyConnection, id: &str) -> Result<bool, ServiceError> {
    let row = sqlx::query(
        "SELECT 1 FROM users WHERE id = $1 UNION ALL SELECT 1 FROM closures WHERE account_id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// Deletes a tenant with its members and its records, as the identity
/// system's `delete_tenant` does.
pub(crate) async fn delete_tenant(conn: &mut AnyConnection, id: &str) -> Result<(), ServiceError> {
    clear_tenant(conn, id).await?;
    sqlx::query("DELETE FROM tenants WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a tenant's members and the records it owns (its row stays).
async fn clear_tenant(conn: &mut AnyConnection, id: &str) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM memberships WHERE tenant_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for table in OWNED {
        sqlx::query(&format!("DELETE FROM {table} WHERE tenant_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The records of `table` the account `$1` owns or its tenants own, with
/// `columns`, ordered by the first.
fn owned_query(table: &str, columns: &str) -> String {
    let prefixed: Vec<String> = columns.split(", ").map(|c| format!("x.{c}")).collect();
    let prefixed = prefixed.join(", ");
    format!(
        "SELECT {columns} FROM {table} WHERE owner_user = $1
         UNION ALL
         SELECT {prefixed} FROM {table} x JOIN memberships m ON m.tenant_id = x.tenant_id
         WHERE m.user_id = $1
         ORDER BY 1"
    )
}

/// The account's row: the account and its own balance.
pub(crate) async fn read_account(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(Account, Option<Balance>)>, ServiceError> {
    let Some(u) = sqlx::query(
        "SELECT id, email, display_name, kind, success_name, success_email, identity,
                sso_provider, sso_super_admin, status, balance_amount, balance_currency
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let what = |column: &str| format!("users.{column} of `{id}`");
    let kind = match (
        u.try_get::<String, _>(3)?.as_str(),
        u.try_get(4)?,
        u.try_get(5)?,
    ) {
        ("self_serve", _, _) => AccountKind::SelfServe,
        ("contract", Some(name), Some(email)) => AccountKind::Contract {
            customer_success: Contact { name, email },
        },
        (other, _, _) => {
            return Err(ServiceError::Corrupt(format!(
                "{}: `{other}`",
                what("kind")
            )))
        }
    };
    let identity = match (
        u.try_get::<String, _>(6)?.as_str(),
        u.try_get(7)?,
        u.try_get(8)?,
    ) {
        ("password", _, _) => Identity::Password,
        ("sso", Some(provider), Some(admin)) => Identity::Sso {
            provider,
            super_admin: parse(&what("sso_super_admin"), admin)?,
        },
        (other, _, _) => {
            return Err(ServiceError::Corrupt(format!(
                "{}: `{other}`",
                what("identity")
            )))
        }
    };
    let account = Account {
        id: parse(&what("id"), u.try_get(0)?)?,
        email: u.try_get(1)?,
        display_name: u.try_get(2)?,
        kind,
        identity,
        status: parse(&what("status"), u.try_get(9)?)?,
    };
    let account_balance = balance(&what("balance_currency"), u.try_get(10)?, u.try_get(11)?)?;
    Ok(Some((account, account_balance)))
}

/// The account's legal holds, by id.
async fn read_holds(conn: &mut AnyConnection, id: &str) -> Result<Vec<LegalHold>, ServiceError> {
    let rows = sqlx::query(
        "SELECT id, reason, placed_by, placed_at, until FROM legal_holds
         WHERE user_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut legal_holds = Vec::with_capacity(rows.len());
    for r in rows {
        legal_holds.push(LegalHold {
            id: parse("legal_holds.id", r.try_get(0)?)?,
            classes: Vec::new(),
            reason: parse("legal_holds.reason", r.try_get(1)?)?,
            placed_by: parse("legal_holds.placed_by", r.try_get(2)?)?,
            placed_at: time("legal_holds.placed_at", r.try_get(3)?)?,
            until: r
                .try_get::<Option<i64>, _>(4)?
                .map(|t| time("legal_holds.until", t))
                .transpose()?,
        });
    }
    let rows = sqlx::query(
        "SELECT c.hold_id, c.class FROM legal_hold_classes c
         JOIN legal_holds h ON h.id = c.hold_id
         WHERE h.user_id = $1 ORDER BY c.hold_id, c.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let place: HashMap<String, usize> = (0..)
        .zip(&legal_holds)
        .map(|(i, h)| (h.id.as_str().to_owned(), i))
        .collect();
    for r in rows {
        let hold: String = r.try_get(0)?;
        if let Some(h) = place.get(&hold).and_then(|i| legal_holds.get_mut(*i)) {
            h.classes
                .push(parse("legal_hold_classes.class", r.try_get(1)?)?);
        }
    }
    Ok(legal_holds)
}

/// The account and its legal holds alone, as a snapshot: what the library
/// reads of one once execution has started (`ClosureState::needs_snapshot`
/// is false), so the worker's ticks and reports of a large account do not
/// assemble every record each time. `None` when there is no such account.
pub(crate) async fn read_account_and_holds(
    conn: &mut AnyConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Snapshot>, ServiceError> {
    let Some((account, _)) = read_account(conn, id).await? else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        schema_version: SNAPSHOT_VERSION,
        taken_at: now,
        account,
        balance: None,
        tenants: Vec::new(),
        subscriptions: Vec::new(),
        domains: Vec::new(),
        payment_methods: Vec::new(),
        invoices: Vec::new(),
        legal_holds: read_holds(conn, id).await?,
    }))
}

/// Assembles the account's snapshot from the tables, taken at `now`; `None`
/// when there is no such account (never imported, or deleted).
pub(crate) async fn read(
    conn: &mut AnyConnection,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Snapshot>, ServiceError> {
    let Some((account, account_balance)) = read_account(conn, id).await? else {
        return Ok(None);
    };

    let rows = sqlx::query(
        "SELECT t.id, t.name, t.primary_owner, t.balance_amount, t.balance_currency
         FROM tenants t JOIN memberships m ON m.tenant_id = t.id
         WHERE m.user_id = $1 ORDER BY t.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut tenants = Vec::with_capacity(rows.len());
    for r in rows {
        tenants.push(Tenant {
            id: parse("tenants.id", r.try_get(0)?)?,
            name: r.try_get(1)?,
            primary_owner: parse("tenants.primary_owner", r.try_get(2)?)?,
            members: Vec::new(),
            balance: balance("tenants.balance_currency", r.try_get(3)?, r.try_get(4)?)?,
        });
    }
    let rows = sqlx::query(
        "SELECT x.tenant_id, x.user_id, x.role FROM memberships x
         JOIN memberships m ON m.tenant_id = x.tenant_id
         WHERE m.user_id = $1 ORDER BY x.tenant_id, x.position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let place: HashMap<String, usize> = (0..)
        .zip(&tenants)
        .map(|(i, t)| (t.id.as_str().to_owned(), i))
        .collect();
    for r in rows {
        let tenant: String = r.try_get(0)?;
        if let Some(t) = place.get(&tenant).and_then(|i| tenants.get_mut(*i)) {
            t.members.push(Member {
                user: parse("memberships.user_id", r.try_get(1)?)?,
                role: parse("memberships.role", r.try_get(2)?)?,
            });
        }
    }

    let rows = sqlx::query(&owned_query(
        "subscriptions",
        "id, tenant_id, plan, add_on_of, status, current_period_end, cancel_at_period_end",
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut subscriptions = Vec::with_capacity(rows.len());
    for r in rows {
        subscriptions.push(Subscription {
            id: parse("subscriptions.id", r.try_get(0)?)?,
            tenant: parse_opt("subscriptions.tenant_id", r.try_get(1)?)?,
            plan: r.try_get(2)?,
            add_on_of: parse_opt("subscriptions.add_on_of", r.try_get(3)?)?,
            status: parse("subscriptions.status", r.try_get(4)?)?,
            current_period_end: time("subscriptions.current_period_end", r.try_get(5)?)?,
            cancel_at_period_end: r.try_get::<i64, _>(6)? != 0,
        });
    }

    let rows = sqlx::query(&owned_query(
        "domains",
        "name, tenant_id, active, setup, pointing_here, auto_renew, expires_at",
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut domains = Vec::with_capacity(rows.len());
    for r in rows {
        let pointing = r.try_get::<i64, _>(4)? != 0;
        let setup = match r.try_get::<String, _>(3)?.as_str() {
            "full" => DomainSetup::Full {
                nameservers_point_here: pointing,
            },
            "partial" => DomainSetup::Partial {
                cname_records_live: pointing,
            },
            other => return Err(ServiceError::Corrupt(format!("domains.setup `{other}`"))),
        };
        let registration = match (r.try_get::<Option<i64>, _>(5)?, r.try_get(6)?) {
            (Some(auto_renew), Some(expires_at)) => Some(Registration {
                auto_renew: auto_renew != 0,
                expires_at: time("domains.expires_at", expires_at)?,
            }),
            _ => None,
        };
        domains.push(Domain {
            name: parse("domains.name", r.try_get(0)?)?,
            tenant: parse_opt("domains.tenant_id", r.try_get(1)?)?,
            active: r.try_get::<i64, _>(2)? != 0,
            setup,
            registration,
        });
    }

    let rows = sqlx::query(&owned_query("payment_methods", "id, tenant_id, kind"))
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
    let mut payment_methods = Vec::with_capacity(rows.len());
    for r in rows {
        payment_methods.push(PaymentMethod {
            id: parse("payment_methods.id", r.try_get(0)?)?,
            tenant: parse_opt("payment_methods.tenant_id", r.try_get(1)?)?,
            kind: parse("payment_methods.kind", r.try_get(2)?)?,
        });
    }

    let rows = sqlx::query(&owned_query(
        "invoices",
        "id, tenant_id, subscription_id, status, amount_due, currency, issued_at",
    ))
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut invoices = Vec::with_capacity(rows.len());
    for r in rows {
        let amount: i64 = r.try_get(4)?;
        invoices.push(Invoice {
            id: parse("invoices.id", r.try_get(0)?)?,
            tenant: parse_opt("invoices.tenant_id", r.try_get(1)?)?,
            subscription: parse_opt("invoices.subscription_id", r.try_get(2)?)?,
            status: parse("invoices.status", r.try_get(3)?)?,
            amount_due: u64::try_from(amount)
                .map_err(|_| ServiceError::Corrupt(format!("invoices.amount_due {amount}")))?,
            currency: parse("invoices.currency", r.try_get(5)?)?,
            issued_at: time("invoices.issued_at", r.try_get(6)?)?,
        });
    }

    let legal_holds = read_holds(conn, id).await?;

    Ok(Some(Snapshot {
        schema_version: SNAPSHOT_VERSION,
        taken_at: now,
        account,
        balance: account_balance,
        tenants,
        subscriptions,
        domains,
        payment_methods,
        invoices,
        legal_holds,
    }))
}
