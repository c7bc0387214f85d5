import { type FieldError } from '../common/errors/domain-error';
import {
  checkCommandParams,
  COMMAND_CATALOGUE,
  COMMAND_TYPES,
  isCommandType,
} from '../sessions/commands/command-catalogue';
import { type ProposedStep } from './plan';

const STEP_FIELDS = ['type', 'params', 'description'];
const DESCRIPTION_MAX = 1000;
const REMEDIATION_TYPES = COMMAND_TYPES.filter((type) => COMMAND_CATALOGUE[type].risk === 'remediation');

/**
 * The steps of a proposal checked against the command catalogue, each error named from the request body
 * with its step (`steps[0].type`, `steps[1].params.interface`): every step must be a remediation type
 * (a diagnostic has no business in a plan) with valid parameters and a description. A step runs with its
 * type's default timeout.
 */
export function checkPlanSteps(
  steps: readonly unknown[],
): { value: ProposedStep[] } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const value: ProposedStep[] = [];
  steps.forEach((step, index) => {
    const at = `steps[${index}]`;
    if (typeof step !== 'object' || step === null || Array.isArray(step)) {
      errors.push({ field: at, message: 'each step must be an object { type, params, description }' });
      return;
    }
    const fields = step as Record<string, unknown>;
    const before = errors.length;
    for (const key of Object.keys(fields).filter((key) => !STEP_FIELDS.includes(key))) {
      errors.push({ field: `${at}.${key}`, message: `${key} is not a field of a step` });
    }
    const { type, params, description } = fields;
    if (typeof description !== 'string' || description.length < 1 || description.length > DESCRIPTION_MAX) {
      errors.push({
        field: `${at}.description`,
        message: `description must be a string of 1 to ${DESCRIPTION_MAX} characters`,
      });
    }
    if (!isCommandType(type) || COMMAND_CATALOGUE[type].risk !== 'remediation') {
      errors.push({
        field: `${at}.type`,
        message: isCommandType(type)
          ? `${type} is a diagnostic; a plan's steps are remediation types: ${REMEDIATION_TYPES.join(', ')}`
          : `type must be one of the remediation types: ${REMEDIATION_TYPES.join(', ')}`,
      });
      return;
    }
    if (params === undefined) {
      errors.push({ field: `${at}.params`, message: 'params is required ({} for a type without any)' });
      return;
    }
    const checked = checkCommandParams(type, params);
    if ('errors' in checked) {
      errors.push(...checked.errors.map((error) => ({ ...error, field: `${at}.${error.field}` })));
      return;
    }
    if (errors.length > before) return;
    value.push({
      type,
      params: checked.value,
      description: description as string,
      timeoutSec: COMMAND_CATALOGUE[type].timeoutSec.default,
    });
  });
  return errors.length > 0 ? { errors } : { value };
}
