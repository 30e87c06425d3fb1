/**
 * ENABLE_FAVORITES_PRIORITY from SSM Parameter Store, cached for a TTL so a
 * flip takes effect within it without a redeploy. Fails safe to off.
 */
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Clock, FeatureFlag, Logger } from '../ports';
import { describeError } from '../domain/errors';

export class SsmFeatureFlag implements FeatureFlag {
  private cached: { value: boolean; until: number } | undefined;

  constructor(
    private readonly client: SSMClient,
    private readonly parameterName: string,
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async isPriorityEnabled(): Promise<boolean> {
    const now = this.clock.now().getTime();
    if (this.cached && now < this.cached.until) return this.cached.value;
    let value: boolean;
    try {
      const { Parameter } = await this.client.send(new GetParameterCommand({ Name: this.parameterName }));
      value = Parameter?.Value?.trim().toLowerCase() === 'true';
    } catch (error) {
      // Off is the old, safe behaviour: everyone gets the request at once.
      this.log.warn('[Flag] Could not read the feature flag; treating priority as off', { parameter: this.parameterName, error: describeError(error) });
      value = false;
    }
    this.cached = { value, until: now + this.ttlSeconds * 1000 };
    return value;
  }
}
