-- The gateway's whole schema: devices, diagnostic sessions, commands, remediation plans and the audit log.
-- Customers are auth.users; rows carry customer_id = auth.uid() of their owner. The gateway itself writes
-- with the service role (RLS bypassed); the policies let a customer read its own rows directly.
-- Timestamps that serve as cursors are truncated to milliseconds so that every client (JavaScript dates
-- included) can hand them back exactly.

create table public.devices (
  id uuid primary key default gen_random_uuid(),
  customer_id uuid not null,
  name text not null check (char_length(name) between 1 and 100),
  serial text check (serial is null or char_length(serial) between 1 and 100),
  status text not null default 'provisioned' check (status in ('provisioned', 'active', 'revoked')),
  secret_hash text not null,
  agent_version text,
  hardware jsonb,
  capabilities text[] not null default '{}',
  presence_state text not null default 'unknown'
    check (presence_state in ('unknown', 'online', 'stale', 'offline')),
  last_seen_at timestamptz,
  last_heartbeat jsonb,
  registered_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default date_trunc('milliseconds', now()),
  updated_at timestamptz not null default now()
);

-- Listing a customer's devices page by page, in creation order.
create index devices_customer_created_idx on public.devices (customer_id, created_at, id);
-- Filtering a customer's devices by presence.
create index devices_customer_presence_idx on public.devices (customer_id, presence_state);
-- A serial identifies one live device of a customer; a revoked device frees its serial.
create unique index devices_customer_serial_key on public.devices (customer_id, serial)
  where serial is not null and status <> 'revoked';

create table public.diagnostic_sessions (
  id uuid primary key default gen_random_uuid(),
  device_id uuid not null references public.devices (id) on delete cascade,
  customer_id uuid not null,
  state text not null default 'open' check (state in ('open', 'closed')),
  reason text check (reason is null or char_length(reason) <= 500),
  opened_by text not null,
  closed_by text,
  close_reason text,
  opened_at timestamptz not null default date_trunc('milliseconds', now()),
  closed_at timestamptz,
  created_at timestamptz not null default date_trunc('milliseconds', now()),
  updated_at timestamptz not null default now()
);

-- At most one open session per device.
create unique index diagnostic_sessions_one_open_per_device on public.diagnostic_sessions (device_id)
  where state = 'open';
create index diagnostic_sessions_customer_created_idx
  on public.diagnostic_sessions (customer_id, created_at, id);
create index diagnostic_sessions_device_created_idx on public.diagnostic_sessions (device_id, created_at, id);

create table public.remediation_plans (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references public.diagnostic_sessions (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  customer_id uuid not null,
  state text not null default 'proposed' check (
    state in ('proposed', 'approved', 'rejected', 'executing', 'succeeded', 'failed', 'expired', 'cancelled')
  ),
  summary text not null,
  rationale text,
  risk text not null check (risk in ('low', 'medium', 'high')),
  steps jsonb not null,
  plan_hash text not null,
  proposed_by text not null,
  decided_by text,
  decision_reason text,
  decided_at timestamptz,
  expires_at timestamptz,
  created_at timestamptz not null default date_trunc('milliseconds', now()),
  updated_at timestamptz not null default now()
);

create index remediation_plans_session_created_idx on public.remediation_plans (session_id, created_at, id);
-- The expiry sweep looks only at plans still waiting for a decision.
create index remediation_plans_proposed_expiry_idx on public.remediation_plans (expires_at)
  where state = 'proposed';

create table public.commands (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references public.diagnostic_sessions (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  customer_id uuid not null,
  plan_id uuid references public.remediation_plans (id) on delete cascade,
  step_index integer check (step_index is null or step_index >= 0),
  type text not null,
  params jsonb not null default '{}',
  state text not null default 'queued' check (
    state in ('queued', 'sent', 'delivered', 'running', 'succeeded', 'failed', 'timed_out', 'expired', 'cancelled')
  ),
  attempt integer not null default 0 check (attempt >= 0),
  timeout_sec integer not null check (timeout_sec > 0),
  expires_at timestamptz not null,
  idempotency_key text,
  request_hash text,
  progress jsonb,
  output jsonb,
  error jsonb,
  issued_by text not null,
  sent_at timestamptz,
  delivered_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default date_trunc('milliseconds', now()),
  updated_at timestamptz not null default now()
);

-- Delivery: a device's queued commands, oldest first.
create index commands_device_state_created_idx on public.commands (device_id, state, created_at);
create index commands_session_created_idx on public.commands (session_id, created_at, id);
-- Start-up and timer sweeps look only at commands that are not final.
create index commands_open_updated_idx on public.commands (updated_at)
  where state in ('queued', 'sent', 'delivered', 'running');
create unique index commands_customer_idempotency_key on public.commands (customer_id, idempotency_key)
  where idempotency_key is not null;
create index commands_plan_idx on public.commands (plan_id) where plan_id is not null;

-- Append-only; the identity orders events exactly as they were written.
create table public.audit_events (
  id bigint generated always as identity primary key,
  occurred_at timestamptz not null default date_trunc('milliseconds', now()),
  actor text not null,
  action text not null,
  subject_type text not null,
  subject_id text not null,
  customer_id uuid,
  details jsonb not null default '{}'
);

create index audit_events_subject_idx on public.audit_events (subject_type, subject_id, id);
create index audit_events_customer_idx on public.audit_events (customer_id, occurred_at)
  where customer_id is not null;

-- Row level security: customers read their own rows; only the gateway (service role) writes.
alter table public.devices enable row level security;
alter table public.diagnostic_sessions enable row level security;
alter table public.remediation_plans enable row level security;
alter table public.commands enable row level security;
alter table public.audit_events enable row level security;

create policy devices_customer_read on public.devices
  for select to authenticated using (customer_id = (select auth.uid()));
create policy diagnostic_sessions_customer_read on public.diagnostic_sessions
  for select to authenticated using (customer_id = (select auth.uid()));
create policy remediation_plans_customer_read on public.remediation_plans
  for select to authenticated using (customer_id = (select auth.uid()));
create policy commands_customer_read on public.commands
  for select to authenticated using (customer_id = (select auth.uid()));
create policy audit_events_customer_read on public.audit_events
  for select to authenticated using (customer_id = (select auth.uid()));

-- Explicit grants: Supabase no longer grants new tables to its API roles by default.
revoke all on public.devices, public.diagnostic_sessions, public.remediation_plans, public.commands,
  public.audit_events from anon, authenticated;
grant select, insert, update, delete on public.devices, public.diagnostic_sessions, public.remediation_plans,
  public.commands, public.audit_events to service_role;
-- A customer may read its devices, but never the credential hash.
grant select (
  id, customer_id, name, serial, status, agent_version, hardware, capabilities, presence_state, last_seen_at,
  last_heartbeat, registered_at, revoked_at, created_at, updated_at
) on public.devices to authenticated;
grant select on public.diagnostic_sessions, public.remediation_plans, public.commands, public.audit_events
  to authenticated;
