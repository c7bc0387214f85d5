-- create_command also answers how many of the device's commands are queued once the new one is, in the
-- same transaction: the gateway keeps that count in the device's presence for its heartbeats'
-- pendingCommands, and no longer counts again after each command it creates. Same signature, so the
-- grants and revokes of 20261202000100 stand.
create or replace function public.create_command(
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
      return jsonb_build_object(
        'outcome', 'created',
        'command', to_jsonb(created),
        'queued', (select count(*) from public.commands
                    where device_id = parent.device_id and status = 'queued')
      );
    end if;
  end loop;
end
$$;
