/**
 * ENABLE_FAVORITES_PRIORITY from SSM Parameter Store through Powertools
 * Parameters, cached for `maxAge` seconds so a flip takes effect within it
 * without a redeploy. Fails safe to off: a read that fails counts as off, with
 * a warning, and is not retried for `maxAge` either (one warning per TTL, and
 * no SDK retries added to every request while SSM is out).
 */
import type { SSMClient } from '@aws-sdk/client-ssm';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { Clock, FeatureFlag, Logger } from '../ports';
import { describeError } from '../domain/errors';

/** The parameter's value as the handlers read it: `true` (any case, spaces around) is on, anything else off. */
export const isOnValue = (value: string | undefined): boolean => value?.trim().toLowerCase() === 'true';

export class SsmFeatureFlag implements FeatureFlag {
  private readonly parameters: SSMProvider;
  /** Until when (epoch ms, by the injected clock) a failed read keeps counting as off. */
  private offAfterFailureUntil = 0;

  constructor(
    client: SSMClient,
    private readonly parameterName: string,
    private readonly maxAgeSeconds: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.parameters = new SSMProvider({ awsSdkV3Client: client });
  }

  async isPriorityEnabled(): Promise<boolean> {
    if (this.clock.now().getTime() < this.offAfterFailureUntil) return false;
    try {
      const value = await this.parameters.get(this.parameterName, { maxAge: this.maxAgeSeconds });
      return isOnValue(value);
    } catch (error) {
      // Off is the old, safe behaviour: everyone gets the request at once.
      this.log.warn('[Flag] Could not read the feature flag; treating priority as off', {
        parameter: this.parameterName,
        error: describeError((error as Error).cause ?? error),
      });
      this.offAfterFailureUntil = this.clock.now().getTime() + this.maxAgeSeconds * 1000;
      return false;
    }
  }
}
