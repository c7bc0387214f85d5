import { type Problem } from '../errors/problem';
import { namedElsewhere } from './typed-schema';

/**
 * The problem+json object (RFC 9457) wherever a schema mentions it (a socket ack's `error`): defined by
 * the API documents, which know every code of the error catalog.
 */
export const PROBLEM_SCHEMA = namedElsewhere<Problem>('Problem');
