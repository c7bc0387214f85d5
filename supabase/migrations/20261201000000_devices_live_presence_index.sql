-- After a restart or a cache loss, each gateway rebuilds presence from the devices recorded online or stale.
create index devices_live_presence_idx on public.devices (id)
  where presence_state in ('online', 'stale') and status <> 'revoked';
