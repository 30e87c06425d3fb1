/** `flag status|on|off`: the feature flag ENABLE_FAVORITES_PRIORITY, a String parameter in SSM, read and written as-is. */
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { isOnValue } from '../lambdas/adapters/ssm-flag';
import { OpsError } from './errors';

export interface FlagState {
  parameter: string;
  value: string;
  /** As the handlers read it (lambdas/adapters/ssm-flag.ts). */
  on: boolean;
  version?: number;
  last_modified?: string;
}

export async function readFlag(ssm: SSMClient, parameter: string): Promise<FlagState> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: parameter }));
    const value = Parameter?.Value ?? '';
    return { parameter, value, on: isOnValue(value), version: Parameter?.Version, last_modified: Parameter?.LastModifiedDate?.toISOString() };
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') throw new OpsError('not_found', `the flag parameter ${parameter} does not exist (wrong stage?)`);
    throw error;
  }
}

/** Overwrites the value and reads it back, so what is printed is what SSM now says. */
export async function setFlag(ssm: SSMClient, parameter: string, on: boolean): Promise<FlagState> {
  await readFlag(ssm, parameter); // the stack creates it: never create a stray parameter under a mistyped stage
  await ssm.send(new PutParameterCommand({ Name: parameter, Value: on ? 'true' : 'false', Overwrite: true }));
  return readFlag(ssm, parameter);
}
