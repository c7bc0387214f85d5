-- Live devices by recorded presence state, across customers (DeviceRepository.countByPresence, read for the
-- devices_by_presence metric): the statement both adapters run. States without devices are left out.
-- Read at most once per METRICS_PRESENCE_CACHE_MS per instance, not per scrape.
create function public.count_devices_by_presence() returns table (presence_state text, devices bigint)
  language sql
  stable
  set search_path = ''
  as $$
    select device.presence_state::text, count(*)
    from public.devices as device
    where device.status <> 'revoked'
    group by device.presence_state
  $$;

revoke all on function public.count_devices_by_presence() from public, anon, authenticated;
grant execute on function public.count_devices_by_presence() to service_role;
