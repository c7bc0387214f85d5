-- A throttled heartbeat payload that waited out a database outage on one instance must not replace a newer
-- one another instance wrote meanwhile. The time of the sign that carried the stored payload is kept beside
-- it, and a batch writes a device's payload and agent version only when its sign is not older. The last sign
-- (last_seen_at) never moved back; transitions write it too, so it cannot order payloads by itself. A device
-- with no payload time yet (null) takes the sign: `>= null is not false` holds.
alter table public.devices add column last_heartbeat_at timestamptz;

create or replace function public.record_device_signs(signs jsonb) returns void
  language sql
  set search_path = ''
  as $$
    update public.devices as device
    set last_seen_at = greatest(device.last_seen_at, sign.seen_at),
        last_heartbeat = case when (sign.seen_at >= device.last_heartbeat_at) is not false
          then sign.heartbeat else device.last_heartbeat end,
        last_heartbeat_at = greatest(device.last_heartbeat_at, sign.seen_at),
        agent_version = case when (sign.seen_at >= device.last_heartbeat_at) is not false
          then coalesce(sign.agent_version, device.agent_version) else device.agent_version end,
        updated_at = now()
    from jsonb_to_recordset(signs) as sign (id uuid, seen_at timestamptz, heartbeat jsonb, agent_version text)
    where device.id = sign.id and device.status <> 'revoked'
  $$;
