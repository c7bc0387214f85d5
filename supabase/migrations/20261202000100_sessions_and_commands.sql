-- Diagnostic sessions and commands as the gateway writes them (issue 11). The tables are older than their
-- first writer, so this migration reshapes them to the public contract and adds the SQL functions every
-- data backend calls (pg, PGlite, and supabase-js through PostgREST's rpc), so that each step that needs
-- more than one statement to be atomic is written once. The functions run as their caller (the gateway's
-- service role) and name every object with its schema, under an empty search_path.

-- The Command object calls its lifecycle field `status`, counts delivery attempts from 1, and carries a
-- `revision` that grows by one with every transition, so that a client seeing events out of order keeps
-- the highest.
alter table public.commands rename column state to status;
alter table public.commands rename constraint commands_state_check to commands_status_check;
alter table public.commands add column revision integer not null default 1 check (revision >= 1);
alter table public.commands drop constraint commands_attempt_check;
alter table public.commands alter column attempt set default 1;
alter table public.commands add constraint commands_attempt_check check (attempt >= 1);
alter table public.commands add constraint commands_finished_when_final check (
  (status in ('queued', 'sent', 'delivered', 'running')) = (finished_at is null)
);

-- A device's commands that are not final: its queue, oldest first, and the ones in flight.
drop index public.commands_device_state_created_idx;
create index commands_device_open_idx on public.commands (device_id, status, created_at, id)
  where status in ('queued', 'sent', 'delivered', 'running');
-- Rebuilding the clocks after a restart or a cache loss walks every command not yet final, by id.
drop index public.commands_open_updated_idx;
create index commands_not_final_idx on public.commands (id)
  where status in ('queued', 'sent', 'delivered', 'running');

alter table public.diagnostic_sessions add constraint diagnostic_sessions_close_reason_check check (
  close_reason is null or close_reason in ('requested', 'device_revoked')
);
alter table public.diagnostic_sessions add constraint diagnostic_sessions_closed_when_closed check (
  (state = 'open' and closed_at is null and closed_by is null and close_reason is null)
  or (state = 'closed' and closed_at is not null and closed_by is not null and close_reason is not null)
);

-- Opens a session on a live device of the customer. The device row is share-locked until the session is
-- written, so a revocation committing meanwhile waits for it (and then closes it) instead of missing it.
-- The partial unique index keeps one open session per device; the loop covers the open one closing
-- between the insert that collided with it and the read of it.
-- Answers { outcome: 'opened' | 'already_open', session } or { outcome: 'device_unavailable' }.
create function public.open_diagnostic_session(
  p_device_id uuid,
  p_customer_id uuid,
  p_reason text,
  p_opened_by text
) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  opened public.diagnostic_sessions;
begin
  perform 1 from public.devices
    where id = p_device_id and customer_id = p_customer_id and status <> 'revoked'
    for share;
  if not found then
    return jsonb_build_object('outcome', 'device_unavailable');
  end if;
  loop
    insert into public.diagnostic_sessions (device_id, customer_id, reason, opened_by)
      values (p_device_id, p_customer_id, p_reason, p_opened_by)
      on conflict (device_id) where state = 'open' do nothing
      returning * into opened;
    if found then
      return jsonb_build_object('outcome', 'opened', 'session', to_jsonb(opened));
    end if;
    select * into opened from public.diagnostic_sessions where device_id = p_device_id and state = 'open';
    if found then
      return jsonb_build_object('outcome', 'already_open', 'session', to_jsonb(opened));
    end if;
  end loop;
end
$$;

-- Creates a command in an open session, idempotently per (customer, key) within a window: the same key
-- again returns the command it created, even once the session has closed. A key older than the window is
-- released from its command and used afresh. The session row is share-locked until the command is
-- written, so a close committing meanwhile waits and then sees the command (to cancel it).
-- Answers { outcome: 'created' | 'existing', command } or { outcome: 'session_not_open' }.
create function public.create_command(
  p_session_id uuid,
  p_type text,
  p_params jsonb,
  p_timeout_sec integer,
  p_expires_in_sec integer,
  p_issued_by text,
  p_plan_id uuid,
  p_step_index integer,
  p_idempotency_key text,
  p_request_hash text,
  p_idempotency_window_sec integer
) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  parent public.diagnostic_sessions;
  created public.commands;
begin
  select * into parent from public.diagnostic_sessions where id = p_session_id for share;
  if not found then
    return jsonb_build_object('outcome', 'session_not_open');
  end if;
  loop
    if p_idempotency_key is not null then
      select * into created from public.commands
        where customer_id = parent.customer_id and idempotency_key = p_idempotency_key;
      if found then
        if created.created_at > now() - make_interval(secs => p_idempotency_window_sec) then
          return jsonb_build_object('outcome', 'existing', 'command', to_jsonb(created));
        end if;
        update public.commands set idempotency_key = null
          where id = created.id and idempotency_key = p_idempotency_key;
      end if;
    end if;
    if parent.state <> 'open' then
      return jsonb_build_object('outcome', 'session_not_open');
    end if;
    insert into public.commands (
      session_id, device_id, customer_id, plan_id, step_index, type, params, timeout_sec, expires_at,
      issued_by, idempotency_key, request_hash
    ) values (
      parent.id, parent.device_id, parent.customer_id, p_plan_id, p_step_index, p_type, p_params,
      p_timeout_sec, date_trunc('milliseconds', now()) + make_interval(secs => p_expires_in_sec),
      p_issued_by, p_idempotency_key, p_request_hash
    )
      on conflict (customer_id, idempotency_key) where idempotency_key is not null do nothing
      returning * into created;
    if found then
      return jsonb_build_object('outcome', 'created', 'command', to_jsonb(created));
    end if;
  end loop;
end
$$;

-- One lifecycle transition as one conditional update: only from one of p_from, so of two instances
-- racing for a command one wins and the other gets no row. What a transition writes besides the status
-- (which timestamp it stamps, whether it counts a new attempt) is decided by the lifecycle table in the
-- gateway's code and passed in. A timestamp is stamped when its status is entered, not when a status
-- moves to itself (a running command reporting progress again). Null changes leave a field as it is.
create function public.transition_command(
  p_id uuid,
  p_from text[],
  p_to text,
  p_stamp text,
  p_bump_attempt boolean,
  p_progress jsonb,
  p_output jsonb,
  p_error jsonb
) returns setof public.commands
  language sql volatile
  set search_path = ''
  as $$
  update public.commands set
    status = p_to,
    revision = revision + 1,
    attempt = attempt + case when p_bump_attempt then 1 else 0 end,
    progress = coalesce(p_progress, progress),
    output = coalesce(p_output, output),
    error = coalesce(p_error, error),
    sent_at = case when p_stamp = 'sent_at' and status <> p_to
      then date_trunc('milliseconds', now()) else sent_at end,
    delivered_at = case when p_stamp = 'delivered_at' and status <> p_to
      then date_trunc('milliseconds', now()) else delivered_at end,
    started_at = case when p_stamp = 'started_at' and status <> p_to
      then date_trunc('milliseconds', now()) else started_at end,
    finished_at = case when p_stamp = 'finished_at' and status <> p_to
      then date_trunc('milliseconds', now()) else finished_at end,
    updated_at = now()
  where id = p_id and status = any (p_from)
  returning *;
$$;

-- Moves a device's oldest queued, unexpired commands to `sent`, as many as leave at most p_max_in_flight
-- of its commands sent, delivered or running, and returns them oldest first. Claims of one device are
-- serialised by a transaction-scoped advisory lock, so two instances never both fill the same free slot.
create function public.claim_queued_commands(p_device_id uuid, p_max_in_flight integer)
  returns setof public.commands
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  free_slots integer;
begin
  perform pg_advisory_xact_lock(hashtextextended('netdiag.claim_queued_commands:' || p_device_id::text, 0));
  select greatest(p_max_in_flight - count(*), 0)::integer into free_slots
    from public.commands
    where device_id = p_device_id and status in ('sent', 'delivered', 'running');
  return query
    with picked as (
      select id from public.commands
        where device_id = p_device_id and status = 'queued' and expires_at > now()
        order by created_at, id
        limit free_slots
        for update
    ), claimed as (
      update public.commands c set
        status = 'sent',
        revision = c.revision + 1,
        sent_at = date_trunc('milliseconds', now()),
        updated_at = now()
      from picked
      where c.id = picked.id
      returning c.*
    )
    select * from claimed order by created_at, id;
end
$$;

-- Functions are executable by PUBLIC unless revoked, and Supabase grants new ones to its API roles by
-- default: only the gateway (service role) may call these.
revoke all on function
  public.open_diagnostic_session(uuid, uuid, text, text),
  public.create_command(uuid, text, jsonb, integer, integer, text, uuid, integer, text, text, integer),
  public.transition_command(uuid, text[], text, text, boolean, jsonb, jsonb, jsonb),
  public.claim_queued_commands(uuid, integer)
  from public, anon, authenticated;
grant execute on function
  public.open_diagnostic_session(uuid, uuid, text, text),
  public.create_command(uuid, text, jsonb, integer, integer, text, uuid, integer, text, text, integer),
  public.transition_command(uuid, text[], text, text, boolean, jsonb, jsonb, jsonb),
  public.claim_queued_commands(uuid, integer)
  to service_role;

-- PostgREST serves a function only once its schema cache knows it (Supabase reloads the cache on DDL by
-- itself; a self-hosted PostgREST listens for this).
notify pgrst, 'reload schema';
