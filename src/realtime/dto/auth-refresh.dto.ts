import { constant, object, timestamp } from '../../common/docs/typed-schema';
import { IsString, Length } from 'class-validator';

export class AuthRefreshDto {
  @IsString()
  @Length(1, 8192)
  token!: string;
}

/** The ack of a refresh: when the new token expires. */
export const AUTH_REFRESHED_SCHEMA = object<{ ok: true; expiresAt: string }>({
  ok: constant(true),
  expiresAt: timestamp('When the new token expires'),
});
