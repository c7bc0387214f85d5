-- Throttled heartbeats of many devices in one call (the supabase-js adapter's DeviceRepository.recordSigns):
-- the same statement the SQL adapter runs. The payload, the agent version when the sign names one, and the
-- last sign, which never moves back; never the presence state, which transitions write at once. Revoked and
-- unknown devices are skipped. The caller sends one sign per device.
create function public.record_device_signs(signs jsonb) returns void
  language sql
  set search_path = ''
  as $$
    update public.devices as device
    set last_seen_at = greatest(device.last_seen_at, sign.seen_at),
        last_heartbeat = sign.heartbeat,
        agent_version = coalesce(sign.agent_version, device.agent_version),
        updated_at = now()
    from jsonb_to_recordset(signs) as sign (id uuid, seen_at timestamptz, heartbeat jsonb, agent_version text)
    where device.id = sign.id and device.status <> 'revoked'
  $$;

-- Only the gateway (service role) writes: functions are executable by PUBLIC unless revoked, and Supabase
-- grants new functions to its API roles by default.
revoke all on function public.record_device_signs(jsonb) from public, anon, authenticated;
grant execute on function public.record_device_signs(jsonb) to service_role;
