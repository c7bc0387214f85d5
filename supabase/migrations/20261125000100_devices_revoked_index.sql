-- Instances that lost their revocation broadcasts ask for the devices revoked since then.
create index devices_revoked_at_idx on public.devices (revoked_at) where status = 'revoked';
