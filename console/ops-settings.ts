/**
 * The settings in effect, read where they live: the functions' environment, which the stack (or the sandbox's
 * options) sets, as `aws lambda get-function-configuration --function-name <intake>` shows it.
 */
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ENV } from '../contract/env';
import { config } from './api';
import { h } from './dom';
import { awsClientConfig } from './ops-aws';
import { formatDuration } from './ops-text';

export class OpsSettings extends HTMLElement {
  private readonly lambda = new LambdaClient(awsClientConfig);
  private readonly window = h('strong', { 'data-testid': 'ops-priority-window' }, '…');
  private readonly flagCacheTtl = h('strong', { 'data-testid': 'ops-flag-cache-ttl' }, '…');

  connectedCallback(): void {
    this.replaceChildren(
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Settings in effect'),
        h('p', { title: ENV.priorityWindowSeconds }, 'Priority window: ', this.window),
        h('p', { title: ENV.flagCacheTtlSeconds }, 'Flag cache TTL: ', this.flagCacheTtl),
        h(
          'p',
          { class: 'muted' },
          'From the environment of ',
          h('code', {}, config.aws.intakeFunctionName),
          ` (${ENV.priorityWindowSeconds}, ${ENV.flagCacheTtlSeconds}), as aws lambda get-function-configuration shows it. Each favorite holds a request for the window; a flag flip reaches the functions within the TTL.`,
        ),
      ),
    );
  }

  async refresh(): Promise<void> {
    const { Environment } = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: config.aws.intakeFunctionName }));
    const seconds = (variable: string) => {
      const value = Environment?.Variables?.[variable];
      return value === undefined ? '(not set)' : formatDuration(Number(value));
    };
    this.window.textContent = seconds(ENV.priorityWindowSeconds);
    this.flagCacheTtl.textContent = seconds(ENV.flagCacheTtlSeconds);
  }
}
