/**
 * The sandbox's Parameter Store, driven by the real SDK client (and the real
 * CLI when installed) over the wire, as the flag adapter and ops use it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  InvalidFilterKey,
  ParameterAlreadyExists,
  ParameterNotFound,
  ParameterVersionNotFound,
  PutParameterCommand,
  SSMClient,
  ValidationException,
  paginateDescribeParameters,
} from '@aws-sdk/client-ssm';
import { awsClis } from '../support/aws-cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEndpoint, type AwsEndpoint } from '../../sandbox/aws-endpoint';
import { SchedulerService } from '../../sandbox/scheduler';
import { SsmService } from '../../sandbox/ssm';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

let dataDir: string;
let ssm: SsmService;
let endpoint: AwsEndpoint;
let client: SSMClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ssm-test-'));
  ssm = new SsmService({ dataDir });
  const scheduler = new SchedulerService({ invoke: async () => {}, log: () => {} });
  endpoint = await startAwsEndpoint({ port: 0, services: { ssm: ssm.handle, scheduler: scheduler.handle } });
  client = new SSMClient({ endpoint: endpoint.url, region: 'us-east-1', credentials });
});

afterAll(async () => {
  client?.destroy();
  await endpoint?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh hierarchy per test, so tests never see each other's parameters. */
const uniquePath = (): string => `/test/${randomUUID()}`;

describe('PutParameter / GetParameter', () => {
  it('stores a parameter and answers it in AWS shape', async () => {
    const name = `${uniquePath()}/flag`;

    const put = await client.send(new PutParameterCommand({ Name: name, Value: 'true', Type: 'String' }));
    const { Parameter } = await client.send(new GetParameterCommand({ Name: name }));

    expect(put).toMatchObject({ Version: 1, Tier: 'Standard' });
    expect(Parameter).toMatchObject({
      Name: name,
      Type: 'String',
      Value: 'true',
      Version: 1,
      DataType: 'text',
      ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${name}`,
    });
    expect(Parameter!.LastModifiedDate).toBeInstanceOf(Date);
    expect(Math.abs(Parameter!.LastModifiedDate!.getTime() - Date.now())).toBeLessThan(5_000);
  });

  it('refuses to replace a parameter without Overwrite, and versions each overwrite', async () => {
    const name = `${uniquePath()}/flag`;
    await client.send(new PutParameterCommand({ Name: name, Value: 'false', Type: 'String' }));

    const refused = await client.send(new PutParameterCommand({ Name: name, Value: 'true' })).catch((error: unknown) => error);
    const second = await client.send(new PutParameterCommand({ Name: name, Value: 'true', Overwrite: true }));
    const third = await client.send(new PutParameterCommand({ Name: name, Value: 'false', Overwrite: true }));

    expect(refused).toBeInstanceOf(ParameterAlreadyExists);
    expect(second.Version).toBe(2);
    expect(third.Version).toBe(3);
    expect((await client.send(new GetParameterCommand({ Name: name }))).Parameter).toMatchObject({ Value: 'false', Version: 3, Type: 'String' });
    expect((await client.send(new GetParameterCommand({ Name: `${name}:2` }))).Parameter).toMatchObject({ Value: 'true', Version: 2, Selector: ':2' });
    const history = await client.send(new GetParameterHistoryCommand({ Name: name }));
    expect(history.Parameters!.map((version) => [version.Version, version.Value])).toEqual([
      [1, 'false'],
      [2, 'true'],
      [3, 'false'],
    ]);
    await expect(client.send(new GetParameterCommand({ Name: `${name}:9` }))).rejects.toBeInstanceOf(ParameterVersionNotFound);
  });

  it('raises ParameterNotFound for a missing parameter on read and delete', async () => {
    const name = `${uniquePath()}/missing`;

    const read = await client.send(new GetParameterCommand({ Name: name })).catch((error: unknown) => error);
    const deleted = await client.send(new DeleteParameterCommand({ Name: name })).catch((error: unknown) => error);

    expect(read).toBeInstanceOf(ParameterNotFound);
    expect(deleted).toBeInstanceOf(ParameterNotFound);
    expect((read as ParameterNotFound).$metadata.httpStatusCode).toBe(400);
  });

  it('deletes a parameter', async () => {
    const name = `${uniquePath()}/gone`;
    await client.send(new PutParameterCommand({ Name: name, Value: 'x' }));

    await client.send(new DeleteParameterCommand({ Name: name }));

    await expect(client.send(new GetParameterCommand({ Name: name }))).rejects.toBeInstanceOf(ParameterNotFound);
  });

  it('answers several names at once, listing the missing ones', async () => {
    const path = uniquePath();
    await client.send(new PutParameterCommand({ Name: `${path}/a`, Value: '1' }));

    const result = await client.send(new GetParametersCommand({ Names: [`${path}/a`, `${path}/b`] }));

    expect(result.Parameters!.map((parameter) => parameter.Value)).toEqual(['1']);
    expect(result.InvalidParameters).toEqual([`${path}/b`]);
  });

  it('hides a SecureString value unless asked to decrypt', async () => {
    const name = `${uniquePath()}/secret`;
    await client.send(new PutParameterCommand({ Name: name, Value: 's3cret', Type: 'SecureString' }));

    const hidden = await client.send(new GetParameterCommand({ Name: name }));
    const clear = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));

    expect(hidden.Parameter!.Value).not.toBe('s3cret');
    expect(clear.Parameter).toMatchObject({ Type: 'SecureString', Value: 's3cret' });
  });

  it('rejects reserved and malformed names with AWS exceptions', async () => {
    await expect(client.send(new PutParameterCommand({ Name: 'a/b', Value: 'x' }))).rejects.toBeInstanceOf(ValidationException);
    await expect(client.send(new PutParameterCommand({ Name: '/has space', Value: 'x' }))).rejects.toBeInstanceOf(ValidationException);
    await expect(client.send(new PutParameterCommand({ Name: `${uniquePath()}/x`, Value: 'x', Type: 'Number' as never }))).rejects.toBeInstanceOf(
      ValidationException,
    );
  });
});

describe('DescribeParameters and GetParametersByPath', () => {
  it('filters by name and pages with NextToken', async () => {
    const path = uniquePath();
    for (const leaf of ['a', 'b', 'c', 'd', 'e']) await client.send(new PutParameterCommand({ Name: `${path}/${leaf}`, Value: leaf }));

    const pages = [];
    for await (const page of paginateDescribeParameters({ client, pageSize: 2 }, { ParameterFilters: [{ Key: 'Name', Option: 'BeginsWith', Values: [path] }] }))
      pages.push(page);
    const exact = await client.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Values: [`${path}/c`] }] }));

    expect(pages.map((page) => page.Parameters!.length)).toEqual([2, 2, 1]);
    expect(pages.flatMap((page) => page.Parameters!.map((parameter) => parameter.Name))).toEqual(['a', 'b', 'c', 'd', 'e'].map((leaf) => `${path}/${leaf}`));
    expect(exact.Parameters).toHaveLength(1);
    expect(exact.Parameters![0]).toMatchObject({ Name: `${path}/c`, Type: 'String', Version: 1, Tier: 'Standard', DataType: 'text' });
    expect(exact.Parameters![0]!.LastModifiedDate).toBeInstanceOf(Date);
  });

  it('rejects an unknown filter key with InvalidFilterKey', async () => {
    await expect(client.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Colour', Values: ['red'] }] }))).rejects.toBeInstanceOf(
      InvalidFilterKey,
    );
  });

  it('reads one level of a path, or all of it when recursive', async () => {
    const path = uniquePath();
    await client.send(new PutParameterCommand({ Name: `${path}/top`, Value: '1' }));
    await client.send(new PutParameterCommand({ Name: `${path}/deep/leaf`, Value: '2' }));

    const oneLevel = await client.send(new GetParametersByPathCommand({ Path: path }));
    const recursive = await client.send(new GetParametersByPathCommand({ Path: path, Recursive: true }));

    expect(oneLevel.Parameters!.map((parameter) => parameter.Name)).toEqual([`${path}/top`]);
    expect(recursive.Parameters!.map((parameter) => parameter.Name)).toEqual([`${path}/deep/leaf`, `${path}/top`]);
  });
});

describe('the wire', () => {
  it('answers an unknown operation as AWS does, with __type and x-amzn-ErrorType', async () => {
    const response = await fetch(`${endpoint.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonSSM.LaunchRockets',
        authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=0',
      },
      body: '{}',
    });

    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
    expect(await response.json()).toMatchObject({ __type: 'UnknownOperationException' });
  });
});

describe('persistence and helpers', () => {
  it('keeps parameters in ssm.json across a new service on the same directory', async () => {
    const name = `${uniquePath()}/flag`;
    await client.send(new PutParameterCommand({ Name: name, Value: 'true' }));

    const restarted = new SsmService({ dataDir });
    restarted.put(name, 'false');

    expect(existsSync(join(dataDir, 'ssm.json'))).toBe(true);
    expect(restarted.get(name)).toBe('false');
    const stored = JSON.parse(readFileSync(join(dataDir, 'ssm.json'), 'utf8')) as { parameters: Record<string, { history: { Version: number }[] }> };
    expect(stored.parameters[name]!.history.map((version) => version.Version)).toEqual([1, 2]);
    expect(restarted.get(`${uniquePath()}/nothing`)).toBeUndefined();
  });

  it('keeps nothing on disk without a data dir', () => {
    const inMemory = new SsmService({});
    inMemory.put('/mem/flag', 'true');
    expect(inMemory.get('/mem/flag')).toBe('true');
    expect(new SsmService({}).get('/mem/flag')).toBeUndefined();
  });
});

const clis = awsClis();

describe('the real AWS CLI', () => {
  it.skipIf(clis.length === 0)('puts and reads a parameter with `aws ssm` (every installed CLI)', async () => {
    for (const cli of clis) {
      const name = `${uniquePath()}/flag`;
      const put = await cli.run(endpoint.url, ['ssm', 'put-parameter', '--name', name, '--value', 'true', '--type', 'String']);
      const get = await cli.run(endpoint.url, ['ssm', 'get-parameter', '--name', name]);
      const missing = await cli.run(endpoint.url, ['ssm', 'get-parameter', '--name', `${name}-missing`]);

      expect(JSON.parse(put.stdout), cli.label).toMatchObject({ Version: 1, Tier: 'Standard' });
      expect(JSON.parse(get.stdout).Parameter, cli.label).toMatchObject({ Name: name, Value: 'true', Version: 1 });
      expect(missing.code, cli.label).not.toBe(0);
      expect(missing.stderr, cli.label).toContain('ParameterNotFound');
    }
  });
});
