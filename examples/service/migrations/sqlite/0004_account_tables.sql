-- Accounts as a product keeps them: one table per kind of record, and the
-- snapshot assembled from them by queries (src/accounts.rs). Ids are global,
-- as in a product: a tenant is one row however many of its members'
-- accounts name it. A record is owned either by an account (`owner_user`)
-- or by a tenant (`tenant_id`), never both. Times are Unix microseconds.
--
-- The `accounts` table of 0001 (one JSON document per account) is left in
-- place: at start the service moves any rows still in it into these tables
-- and empties it (store::Store::move_legacy_accounts). A later migration
-- drops it once no database holds rows there.

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- self_serve | contract
    success_name TEXT,                  -- a contract's customer-success contact
    success_email TEXT,
    identity TEXT NOT NULL,             -- password | sso
    sso_provider TEXT,
    sso_super_admin TEXT,
    status TEXT NOT NULL,
    balance_amount BIGINT,
    balance_currency TEXT,
    updated_at BIGINT NOT NULL);

CREATE INDEX users_sso_super_admin ON users (sso_super_admin);

CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    primary_owner TEXT NOT NULL,
    balance_amount BIGINT,
    balance_currency TEXT,
    updated_at BIGINT NOT NULL);

-- Members need not be accounts of this service (they are known by id).
CREATE TABLE memberships (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    position BIGINT NOT NULL,           -- the member's place in the tenant's list
    PRIMARY KEY (tenant_id, user_id));

CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    owner_user TEXT,
    tenant_id TEXT,
    plan TEXT NOT NULL,
    add_on_of TEXT,
    status TEXT NOT NULL,
    current_period_end BIGINT NOT NULL,
    cancel_at_period_end BIGINT NOT NULL,
    CHECK ((owner_user IS NULL) <> (tenant_id IS NULL)));

CREATE INDEX subscriptions_owner ON subscriptions (owner_user);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_id);

CREATE TABLE domains (
    name TEXT PRIMARY KEY,
    owner_user TEXT,
    tenant_id TEXT,
    active BIGINT NOT NULL,
    setup TEXT NOT NULL,                -- full | partial
    pointing_here BIGINT NOT NULL,      -- nameservers (full) or CNAME records (partial)
    auto_renew BIGINT,                  -- both set when registered through the platform
    expires_at BIGINT,
    CHECK ((owner_user IS NULL) <> (tenant_id IS NULL)),
    CHECK ((auto_renew IS NULL) = (expires_at IS NULL)));

CREATE INDEX domains_owner ON domains (owner_user);
CREATE INDEX domains_tenant ON domains (tenant_id);

CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY,
    owner_user TEXT,
    tenant_id TEXT,
    kind TEXT NOT NULL,
    CHECK ((owner_user IS NULL) <> (tenant_id IS NULL)));

CREATE INDEX payment_methods_owner ON payment_methods (owner_user);
CREATE INDEX payment_methods_tenant ON payment_methods (tenant_id);

CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    owner_user TEXT,
    tenant_id TEXT,
    subscription_id TEXT,
    status TEXT NOT NULL,
    amount_due BIGINT NOT NULL,
    currency TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    CHECK ((owner_user IS NULL) <> (tenant_id IS NULL)));

CREATE INDEX invoices_owner ON invoices (owner_user);
CREATE INDEX invoices_tenant ON invoices (tenant_id);

CREATE TABLE legal_holds (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    placed_by TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    until BIGINT);

CREATE INDEX legal_holds_user ON legal_holds (user_id);

CREATE TABLE legal_hold_classes (
    hold_id TEXT NOT NULL REFERENCES legal_holds (id),
    class TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (hold_id, position));

-- The account's customer at the billing provider (Stripe's `cus_…`): not
-- part of the snapshot, read by the billing adapter to delete the customer
-- when the account's personal data is purged.
CREATE TABLE billing_customers (
    user_id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    customer_id TEXT NOT NULL);
