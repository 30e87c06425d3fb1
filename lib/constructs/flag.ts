/**
 * The ENABLE_FAVORITES_PRIORITY feature flag. Ops flip it with
 * `aws ssm put-parameter --overwrite`; handlers read it through a short cache,
 * so a flip takes effect within the cache TTL and without a redeploy.
 * CloudFormation only writes the value when the resource is created (or its
 * template value changes), so later deploys do not undo a flip.
 */
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';

export interface FeatureFlagProps {
  /** `flagParameterName(stage)` from contract/naming.ts. */
  readonly parameterName: string;
  /** Value on first deploy. @default false */
  readonly initialValue?: boolean;
}

export class FeatureFlag extends Construct {
  readonly parameter: StringParameter;

  constructor(scope: Construct, id: string, props: FeatureFlagProps) {
    super(scope, id);
    this.parameter = new StringParameter(this, 'Parameter', {
      parameterName: props.parameterName,
      stringValue: String(props.initialValue ?? false),
      description:
        'Favorite-mechanic priority dispatch: "true" or "false". Ops flip it with put-parameter --overwrite, without a redeploy; handlers pick it up within the flag cache TTL.',
    });
  }
}
