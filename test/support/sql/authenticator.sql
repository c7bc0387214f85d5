-- Test-only: the login role PostgREST connects as, modelled on Supabase's init scripts. On Supabase it
-- exists already, and the gateway never connects as it, so it belongs to the tests and not to the compat
-- bootstrap in src. noinherit: PostgREST gains a role's rights only by switching to it (SET ROLE) per request.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
