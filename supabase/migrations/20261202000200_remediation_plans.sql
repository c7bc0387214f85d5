-- Remediation plans as the gateway writes them (issue 12). The table is older than its first writer, so
-- this migration reshapes it to the public contract (the Plan object, docs/guide.md#remediation-plans) and adds the SQL
-- functions every data backend calls (pg, PGlite, and supabase-js through PostgREST's rpc), so that each
-- step that must be atomic is written once. As in the sessions migration, the functions run as their
-- caller (the gateway's service role) and name every object with its schema, under an empty search_path.
--
-- A plan's steps live in `steps` (jsonb): an array of { index, type, params, description, timeoutSec,
-- commandId, status }, where status is `pending` (not issued), `issued` (its command exists and is not
-- final), the final status of its command (`succeeded`, `failed`, `timed_out`, `expired`, `cancelled`),
-- or `skipped` (never issued: the plan ended first). `current_step` is the index of the step last issued.

alter table public.remediation_plans rename column state to status;
alter table public.remediation_plans drop constraint remediation_plans_state_check;
alter table public.remediation_plans add constraint remediation_plans_status_check check (
  status in ('proposed', 'approved', 'executing', 'completed', 'failed', 'rejected', 'expired', 'cancelled')
);
alter table public.remediation_plans add column revision integer not null default 1 check (revision >= 1);
alter table public.remediation_plans add column current_step integer check (current_step >= 0);
alter table public.remediation_plans add column failure jsonb;
alter table public.remediation_plans alter column expires_at set not null;
alter table public.remediation_plans add constraint remediation_plans_steps_check check (
  jsonb_typeof(steps) = 'array' and jsonb_array_length(steps) between 1 and 20
);
-- Only a plan never decided (still proposed, or expired waiting) lacks its decision.
alter table public.remediation_plans add constraint remediation_plans_decided_when_decided check (
  (status in ('proposed', 'expired')) = (decided_at is null and decided_by is null)
);

-- The expiry sweep looks only at plans still waiting for a decision; the execution sweep only at plans
-- being carried out.
drop index public.remediation_plans_proposed_expiry_idx;
create index remediation_plans_proposed_expiry_idx on public.remediation_plans (expires_at)
  where status = 'proposed';
create index remediation_plans_running_idx on public.remediation_plans (updated_at)
  where status in ('approved', 'executing');

-- Proposes a plan in an open session. The session row is share-locked until the plan is written, so a
-- close committing meanwhile waits and then sees the plan (to expire it).
-- Answers { outcome: 'proposed', plan } or { outcome: 'session_not_open' }.
create function public.propose_remediation_plan(
  p_session_id uuid,
  p_summary text,
  p_rationale text,
  p_risk text,
  p_steps jsonb,
  p_plan_hash text,
  p_proposed_by text,
  p_expires_in_sec integer
) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  parent public.diagnostic_sessions;
  proposed public.remediation_plans;
begin
  select * into parent from public.diagnostic_sessions where id = p_session_id for share;
  if not found or parent.state <> 'open' then
    return jsonb_build_object('outcome', 'session_not_open');
  end if;
  insert into public.remediation_plans (
    session_id, device_id, customer_id, summary, rationale, risk, steps, plan_hash, proposed_by, expires_at
  ) values (
    parent.id, parent.device_id, parent.customer_id, p_summary, p_rationale, p_risk, p_steps, p_plan_hash,
    p_proposed_by, date_trunc('milliseconds', now()) + make_interval(secs => p_expires_in_sec)
  ) returning * into proposed;
  return jsonb_build_object('outcome', 'proposed', 'plan', to_jsonb(proposed));
end
$$;

-- The customer's decision on a proposed plan, as one conditional update: `approve` only with the plan's
-- own hash, while its device is active and its session open; `reject` whatever the device and session.
-- A plan past its expires_at is expired here and then (outcome 'expired'), so no decision lands on it.
-- Of two concurrent decisions the row lock lets one through; the other finds it no longer proposed.
-- Answers { outcome: 'approved' | 'rejected' | 'expired' | 'not_proposed' | 'hash_mismatch' |
-- 'session_not_open' | 'device_unavailable', plan } or { outcome: 'not_found' }.
create function public.decide_remediation_plan(
  p_id uuid,
  p_decision text,
  p_plan_hash text,
  p_decided_by text,
  p_reason text
) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  plan public.remediation_plans;
begin
  select * into plan from public.remediation_plans where id = p_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if plan.status <> 'proposed' then
    return jsonb_build_object('outcome', 'not_proposed', 'plan', to_jsonb(plan));
  end if;
  if plan.expires_at <= now() then
    update public.remediation_plans
      set status = 'expired', revision = revision + 1, updated_at = now()
      where id = p_id returning * into plan;
    return jsonb_build_object('outcome', 'expired', 'plan', to_jsonb(plan));
  end if;
  if p_decision = 'approve' then
    if p_plan_hash is distinct from plan.plan_hash then
      return jsonb_build_object('outcome', 'hash_mismatch', 'plan', to_jsonb(plan));
    end if;
    perform 1 from public.diagnostic_sessions where id = plan.session_id and state = 'open';
    if not found then
      return jsonb_build_object('outcome', 'session_not_open', 'plan', to_jsonb(plan));
    end if;
    perform 1 from public.devices where id = plan.device_id and status = 'active';
    if not found then
      return jsonb_build_object('outcome', 'device_unavailable', 'plan', to_jsonb(plan));
    end if;
  end if;
  update public.remediation_plans set
    status = case when p_decision = 'approve' then 'approved' else 'rejected' end,
    decided_by = p_decided_by,
    decided_at = date_trunc('milliseconds', now()),
    decision_reason = p_reason,
    revision = revision + 1,
    updated_at = now()
  where id = p_id returning * into plan;
  return jsonb_build_object('outcome', plan.status, 'plan', to_jsonb(plan));
end
$$;

-- Moves an approved or executing plan one step on, exactly once whichever instance calls it, since the
-- plan row is locked for the whole of it:
-- - approved: issues step 0 (the plan becomes executing);
-- - executing, the current step's command final: records its outcome in the step; `succeeded` issues
--   the next step or, after the last, completes the plan; any other status fails the plan naming the
--   step, and the later steps are skipped;
-- - otherwise nothing changes (the step is still running, or the plan has ended).
-- Issuing a step checks that the device is still active and the session open (create_command checks the
-- session under a share lock), else the plan fails with that reason. The command is issued by whoever
-- approved the plan. Answers { outcome: 'issued', plan, command }, { outcome: 'completed' | 'failed' |
-- 'unchanged', plan } or { outcome: 'not_found' }.
create function public.advance_remediation_plan(p_id uuid, p_expires_in_sec integer) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  plan public.remediation_plans;
  current_command public.commands;
  next_index integer;
  step jsonb;
  creation jsonb;
  new_failure jsonb;
  new_steps jsonb;
begin
  select * into plan from public.remediation_plans where id = p_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  new_steps := plan.steps;
  if plan.status = 'approved' then
    next_index := 0;
  elsif plan.status = 'executing' then
    select * into current_command from public.commands
      where id = (new_steps -> plan.current_step ->> 'commandId')::uuid;
    if not found or current_command.status in ('queued', 'sent', 'delivered', 'running') then
      return jsonb_build_object('outcome', 'unchanged', 'plan', to_jsonb(plan));
    end if;
    new_steps := jsonb_set(new_steps, array[plan.current_step::text, 'status'], to_jsonb(current_command.status));
    if current_command.status <> 'succeeded' then
      new_failure := jsonb_build_object(
        'step', plan.current_step,
        'code', coalesce(current_command.error ->> 'code', current_command.status),
        'message', coalesce(
          current_command.error ->> 'message',
          format('Step %s ended %s.', plan.current_step, current_command.status)
        )
      );
    end if;
    next_index := plan.current_step + 1;
  else
    return jsonb_build_object('outcome', 'unchanged', 'plan', to_jsonb(plan));
  end if;

  if new_failure is null and next_index >= jsonb_array_length(new_steps) then
    update public.remediation_plans
      set status = 'completed', steps = new_steps, revision = revision + 1, updated_at = now()
      where id = p_id returning * into plan;
    return jsonb_build_object('outcome', 'completed', 'plan', to_jsonb(plan));
  end if;

  if new_failure is null then
    perform 1 from public.devices where id = plan.device_id and status = 'active';
    if not found then
      new_failure := jsonb_build_object('step', next_index, 'code', 'device_unavailable',
        'message', format('The device was no longer active when step %s was due.', next_index));
    else
      step := new_steps -> next_index;
      creation := public.create_command(
        plan.session_id, step ->> 'type', step -> 'params', (step ->> 'timeoutSec')::integer,
        p_expires_in_sec, plan.decided_by, plan.id, next_index, null, null, 0
      );
      if creation ->> 'outcome' <> 'created' then
        new_failure := jsonb_build_object('step', next_index, 'code', 'session_closed',
          'message', format('The session was closed when step %s was due.', next_index));
      end if;
    end if;
  end if;

  if new_failure is not null then
    -- Every step not yet issued is skipped: it never reaches the device.
    select jsonb_agg(
        case when e.step ->> 'status' = 'pending' then jsonb_set(e.step, '{status}', '"skipped"') else e.step end
        order by e.position)
      into new_steps from jsonb_array_elements(new_steps) with ordinality as e(step, position);
    update public.remediation_plans
      set status = 'failed', steps = new_steps, failure = new_failure, revision = revision + 1, updated_at = now()
      where id = p_id returning * into plan;
    return jsonb_build_object('outcome', 'failed', 'plan', to_jsonb(plan));
  end if;

  new_steps := jsonb_set(new_steps, array[next_index::text, 'commandId'], creation -> 'command' -> 'id');
  new_steps := jsonb_set(new_steps, array[next_index::text, 'status'], '"issued"');
  update public.remediation_plans
    set status = 'executing', steps = new_steps, current_step = next_index, revision = revision + 1,
      updated_at = now()
    where id = p_id returning * into plan;
  return jsonb_build_object('outcome', 'issued', 'plan', to_jsonb(plan), 'command', creation -> 'command');
end
$$;

-- Stops an approved or executing plan before its next step: one conditional update. The current step
-- takes its command's final status, or `cancelled` when the command is still open (the caller cancels it
-- next, through the delivery engine); the steps not yet issued are skipped.
-- Answers { outcome: 'cancelled', plan, commandId } (commandId: the open command to cancel, or null),
-- { outcome: 'not_cancellable', plan } or { outcome: 'not_found' }.
create function public.cancel_remediation_plan(p_id uuid) returns jsonb
  language plpgsql volatile
  set search_path = ''
  as $$
declare
  plan public.remediation_plans;
  current_command public.commands;
  open_command uuid;
  new_steps jsonb;
begin
  select * into plan from public.remediation_plans where id = p_id for update;
  if not found then
    return jsonb_build_object('outcome', 'not_found');
  end if;
  if plan.status not in ('approved', 'executing') then
    return jsonb_build_object('outcome', 'not_cancellable', 'plan', to_jsonb(plan));
  end if;
  new_steps := plan.steps;
  if plan.status = 'executing' then
    select * into current_command from public.commands
      where id = (new_steps -> plan.current_step ->> 'commandId')::uuid;
    if found and current_command.status in ('queued', 'sent', 'delivered', 'running') then
      open_command := current_command.id;
      new_steps := jsonb_set(new_steps, array[plan.current_step::text, 'status'], '"cancelled"');
    elsif found then
      new_steps := jsonb_set(new_steps, array[plan.current_step::text, 'status'], to_jsonb(current_command.status));
    end if;
  end if;
  select jsonb_agg(
      case when e.step ->> 'status' = 'pending' then jsonb_set(e.step, '{status}', '"skipped"') else e.step end
      order by e.position)
    into new_steps from jsonb_array_elements(new_steps) with ordinality as e(step, position);
  update public.remediation_plans
    set status = 'cancelled', steps = new_steps, revision = revision + 1, updated_at = now()
    where id = p_id returning * into plan;
  return jsonb_build_object('outcome', 'cancelled', 'plan', to_jsonb(plan), 'commandId', open_command);
end
$$;

-- Expires proposed plans, one conditional update: those of one session whatever their expires_at (the
-- session closed), or, with a null session, every one past its expires_at (the sweep), at most p_limit.
-- Returns the plans it expired.
create function public.expire_remediation_plans(p_session_id uuid, p_limit integer)
  returns setof public.remediation_plans
  language sql volatile
  set search_path = ''
  as $$
  with due as (
    select id from public.remediation_plans
      where status = 'proposed'
        and (case when p_session_id is null then expires_at <= now() else session_id = p_session_id end)
      order by expires_at, id
      limit p_limit
      for update skip locked
  )
  update public.remediation_plans p
    set status = 'expired', revision = p.revision + 1, updated_at = now()
    from due
    where p.id = due.id and p.status = 'proposed'
  returning p.*;
$$;

-- Plans that may need a move by the execution sweep, oldest change first, at most p_limit: approved
-- ones (the instance that approved them stopped before issuing step 0), and executing ones whose current
-- step's command is final (nobody advanced it yet) or still queued since before p_queued_before, by at
-- most five minutes (the instance that issued it may have stopped before handing it to the delivery
-- engine; past that window a queued step is the engine's, waiting for its device).
create function public.remediation_plans_to_advance(p_queued_before timestamptz, p_limit integer)
  returns setof public.remediation_plans
  language sql stable
  set search_path = ''
  as $$
  select p.* from public.remediation_plans p
    left join public.commands c
      on p.status = 'executing' and c.id = (p.steps -> p.current_step ->> 'commandId')::uuid
    where p.status = 'approved'
      or (p.status = 'executing' and (
        c.status in ('succeeded', 'failed', 'timed_out', 'expired', 'cancelled')
        or (c.status = 'queued' and c.created_at < p_queued_before
          and c.created_at > p_queued_before - interval '5 minutes')
      ))
    order by p.updated_at, p.id
    limit p_limit;
$$;

-- Only the gateway (service role) may call these.
revoke all on function
  public.propose_remediation_plan(uuid, text, text, text, jsonb, text, text, integer),
  public.decide_remediation_plan(uuid, text, text, text, text),
  public.advance_remediation_plan(uuid, integer),
  public.cancel_remediation_plan(uuid),
  public.expire_remediation_plans(uuid, integer),
  public.remediation_plans_to_advance(timestamptz, integer)
  from public, anon, authenticated;
grant execute on function
  public.propose_remediation_plan(uuid, text, text, text, jsonb, text, text, integer),
  public.decide_remediation_plan(uuid, text, text, text, text),
  public.advance_remediation_plan(uuid, integer),
  public.cancel_remediation_plan(uuid),
  public.expire_remediation_plans(uuid, integer),
  public.remediation_plans_to_advance(timestamptz, integer)
  to service_role;

notify pgrst, 'reload schema';
