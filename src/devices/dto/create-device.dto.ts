import { IsOptional, IsString, Length, Matches } from 'class-validator';

export class CreateDeviceDto {
  @IsString()
  @Length(1, 100)
  name!: string;

  @IsOptional()
  @IsString()
  @Length(1, 100)
  @Matches(/^[\x21-\x7e]+$/, { message: 'serial must be printable ASCII without spaces' })
  serial?: string;
}
