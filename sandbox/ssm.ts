/**
 * SSM Parameter Store over awsJson1_1 (`X-Amz-Target: AmazonSSM.<Operation>`),
 * so the real SDK and `aws ssm …` read and flip the sandbox's flag. Parameters,
 * their version history and tags are kept in `ssm.json`, rewritten on every change.
 *
 * Emulated: GetParameter, GetParameters, PutParameter, DeleteParameter,
 * DeleteParameters, DescribeParameters, GetParametersByPath, GetParameterHistory.
 * Not emulated: labels, parameter policies, KMS (SecureString values are only
 * disguised when read without decryption), public `/aws/service/…` parameters,
 * the legacy `Filters` of DescribeParameters, and every other SSM API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError, send, sendJsonProtocolError, type AwsService } from './aws-wire';
import { JsonFile } from './json-file';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const CONTENT_TYPE = 'application/x-amz-json-1.1';
/** Who `LastModifiedUser` names: the sandbox has one identity. */
const SANDBOX_USER = `arn:aws:iam::${ACCOUNT}:user/sandbox`;
const DEFAULT_KEY_ID = 'alias/aws/ssm';
/** AWS keeps the last 100 versions of a parameter. */
const MAX_HISTORY = 100;

type ParameterType = 'String' | 'StringList' | 'SecureString';
type Tier = 'Standard' | 'Advanced';
type Tag = { Key: string; Value: string };

/** One version of a parameter, as GetParameterHistory reports it. */
interface ParameterVersion {
  Version: number;
  Type: ParameterType;
  Value: string;
  Description?: string;
  AllowedPattern?: string;
  KeyId?: string;
  Tier: Tier;
  DataType: string;
  /** Epoch milliseconds. */
  LastModifiedDate: number;
}

interface StoredParameter {
  Name: string;
  Tags: Tag[];
  /** Oldest first; the last entry is the current version. */
  history: ParameterVersion[];
}

interface SsmState {
  parameters: Record<string, StoredParameter>;
}

type Input = Record<string, unknown>;

export class SsmService {
  private readonly file: JsonFile<SsmState>;
  private readonly state: SsmState;

  constructor(options: { dataDir?: string }) {
    this.file = new JsonFile<SsmState>(options.dataDir, 'ssm.json');
    this.state = this.file.read({ parameters: {} });
  }

  /** Seeds or overwrites a String parameter (keeps the type of an existing one), as `put-parameter --overwrite` would. */
  put(name: string, value: string): void {
    this.putParameter({ Name: name, Value: value, Overwrite: true });
  }

  /** The current value, or undefined when the parameter does not exist. */
  get(name: string): string | undefined {
    return this.current(name)?.Value;
  }

  readonly handle: AwsService = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    try {
      const operation = this.operationOf(req);
      send(res, 200, operation(parseInput(body)), { 'content-type': CONTENT_TYPE });
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      sendJsonProtocolError(res, error);
    }
  };

  private operationOf(req: IncomingMessage): (input: Input) => unknown {
    const target = String(req.headers['x-amz-target'] ?? '');
    const [prefix, name] = target.split('.');
    const operations: Record<string, (input: Input) => unknown> = {
      GetParameter: (input) => this.getParameter(input),
      GetParameters: (input) => this.getParameters(input),
      PutParameter: (input) => this.putParameter(input),
      DeleteParameter: (input) => this.deleteParameter(input),
      DeleteParameters: (input) => this.deleteParameters(input),
      DescribeParameters: (input) => this.describeParameters(input),
      GetParametersByPath: (input) => this.getParametersByPath(input),
      GetParameterHistory: (input) => this.getParameterHistory(input),
    };
    const operation = prefix === 'AmazonSSM' && name ? operations[name] : undefined;
    // What AWS's JSON protocol front end answers to a target it does not know.
    if (req.method !== 'POST' || !operation)
      throw new AwsError(400, 'UnknownOperationException', target ? `The sandbox does not emulate ${target}` : 'Missing X-Amz-Target header');
    return operation;
  }

  // ---- operations ------------------------------------------------------------

  private getParameter(input: Input): unknown {
    const name = requiredString(input, 'Name');
    return { Parameter: this.resolve(name, input.WithDecryption === true) };
  }

  private getParameters(input: Input): unknown {
    const names = requiredNames(input);
    const parameters: unknown[] = [];
    const invalid: string[] = [];
    for (const name of new Set(names)) {
      try {
        parameters.push(this.resolve(name, input.WithDecryption === true));
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        invalid.push(name);
      }
    }
    return { Parameters: parameters, InvalidParameters: invalid };
  }

  private putParameter(input: Input): { Version: number; Tier: Tier } {
    const name = requiredString(input, 'Name');
    const value = requiredString(input, 'Value');
    validateName(name);
    const existing = this.state.parameters[name];
    const previous = existing?.history.at(-1);
    if (existing && input.Overwrite !== true) {
      throw new AwsError(
        400,
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
      );
    }
    const tags = optionalTags(input);
    if (tags && input.Overwrite === true)
      throw validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      );

    // Omitted fields keep the current version's settings; a new parameter is a Standard String of text.
    const type = (optionalEnum(input, 'Type', ['String', 'StringList', 'SecureString']) ?? previous?.Type ?? 'String') as ParameterType;
    const tier = tierOf(input, previous?.Tier, value);
    const dataType = optionalEnum(input, 'DataType', ['text', 'aws:ec2:image', 'aws:ssm:integration']) ?? previous?.DataType ?? 'text';
    const description = optionalString(input, 'Description') ?? previous?.Description;
    if (description !== undefined && description.length > 1024)
      throw validation(`1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1024`);
    const allowedPattern = optionalString(input, 'AllowedPattern');
    if (allowedPattern !== undefined && !patternOf(allowedPattern).test(value)) {
      throw new AwsError(400, 'ParameterPatternMismatchException', `Parameter value, cannot be validated against allowedPattern: ${allowedPattern}`);
    }
    const keyId = type === 'SecureString' ? (optionalString(input, 'KeyId') ?? previous?.KeyId ?? DEFAULT_KEY_ID) : undefined;

    const version: ParameterVersion = {
      Version: (previous?.Version ?? 0) + 1,
      Type: type,
      Value: value,
      Description: description,
      AllowedPattern: allowedPattern,
      KeyId: keyId,
      Tier: tier,
      DataType: dataType,
      LastModifiedDate: Date.now(),
    };
    const parameter = existing ?? { Name: name, Tags: tags ?? [], history: [] };
    parameter.history = [...parameter.history, version].slice(-MAX_HISTORY);
    this.state.parameters[name] = parameter;
    this.save();
    return { Version: version.Version, Tier: tier };
  }

  private deleteParameter(input: Input): unknown {
    const name = requiredString(input, 'Name');
    if (!this.state.parameters[name]) throw notFound(name);
    delete this.state.parameters[name];
    this.save();
    return {};
  }

  private deleteParameters(input: Input): unknown {
    const deleted: string[] = [];
    const invalid: string[] = [];
    for (const name of new Set(requiredNames(input))) {
      if (this.state.parameters[name]) {
        delete this.state.parameters[name];
        deleted.push(name);
      } else invalid.push(name);
    }
    if (deleted.length > 0) this.save();
    return { DeletedParameters: deleted, InvalidParameters: invalid };
  }

  private describeParameters(input: Input): unknown {
    if (input.Filters !== undefined) throw validation('The sandbox does not emulate the legacy Filters of DescribeParameters; use ParameterFilters.');
    const filters = parameterFilters(input, DESCRIBE_FILTER_KEYS);
    const matches = this.sorted().filter((parameter) => filters.every((filter) => filter(parameter)));
    const { page, nextToken } = paginate(matches, input, 50, 10, (parameter) => parameter.Name);
    return {
      Parameters: page.map((parameter) => {
        const current = parameter.history.at(-1)!;
        return {
          Name: parameter.Name,
          ARN: arnOf(parameter.Name),
          Type: current.Type,
          KeyId: current.KeyId,
          LastModifiedDate: current.LastModifiedDate / 1000,
          LastModifiedUser: SANDBOX_USER,
          Description: current.Description,
          AllowedPattern: current.AllowedPattern,
          Version: current.Version,
          Tier: current.Tier,
          Policies: [],
          DataType: current.DataType,
        };
      }),
      NextToken: nextToken,
    };
  }

  private getParametersByPath(input: Input): unknown {
    const path = requiredString(input, 'Path');
    if (!path.startsWith('/')) throw validation(`The parameter path ${path} is not valid. A path must begin with a forward slash (/).`);
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const recursive = input.Recursive === true;
    const filters = parameterFilters(input, BY_PATH_FILTER_KEYS);
    const matches = this.sorted().filter((parameter) => {
      if (!parameter.Name.startsWith(prefix)) return false;
      if (!recursive && parameter.Name.slice(prefix.length).includes('/')) return false;
      return filters.every((filter) => filter(parameter));
    });
    const { page, nextToken } = paginate(matches, input, 10, 10, (parameter) => parameter.Name);
    return { Parameters: page.map((parameter) => view(parameter, parameter.history.at(-1)!, input.WithDecryption === true)), NextToken: nextToken };
  }

  private getParameterHistory(input: Input): unknown {
    const name = requiredString(input, 'Name');
    const parameter = this.state.parameters[name];
    if (!parameter) throw notFound(name);
    const { page, nextToken } = paginate(parameter.history, input, 50, 50, (version) => String(version.Version));
    return {
      Parameters: page.map((version) => ({
        ...view(parameter, version, input.WithDecryption === true),
        KeyId: version.KeyId,
        LastModifiedUser: SANDBOX_USER,
        Description: version.Description,
        AllowedPattern: version.AllowedPattern,
        Labels: [],
        Tier: version.Tier,
        Policies: [],
      })),
      NextToken: nextToken,
    };
  }

  // ---- state -----------------------------------------------------------------

  /** `name`, `name:version` or the parameter's ARN, as GetParameter accepts them. */
  private resolve(reference: string, withDecryption: boolean): unknown {
    let name = reference;
    const arnPrefix = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter`;
    if (name.startsWith(`${arnPrefix}/`)) {
      const rest = name.slice(arnPrefix.length + 1);
      // `parameter/a/b` is `/a/b`; `parameter/flag` is `flag`.
      name = rest.includes('/') || !this.state.parameters[rest.split(':')[0]!] ? `/${rest}` : rest;
    }
    const colon = name.lastIndexOf(':');
    const selector = colon > 0 ? name.slice(colon + 1) : undefined;
    if (selector !== undefined) name = name.slice(0, colon);
    const parameter = this.state.parameters[name];
    if (!parameter) throw notFound(reference);
    if (selector === undefined) return view(parameter, parameter.history.at(-1)!, withDecryption);
    // Labels are not emulated, so only a version number can select.
    if (!/^\d+$/.test(selector)) throw new AwsError(400, 'ParameterVersionNotFound', `Systems Manager could not find label ${selector} of ${name}.`);
    const version = parameter.history.find((entry) => entry.Version === Number(selector));
    if (!version)
      throw new AwsError(400, 'ParameterVersionNotFound', `Systems Manager could not find version ${selector} of ${name}. Verify the version and try again.`);
    return { ...view(parameter, version, withDecryption), Selector: `:${selector}` };
  }

  private current(name: string): ParameterVersion | undefined {
    return this.state.parameters[name]?.history.at(-1);
  }

  private sorted(): StoredParameter[] {
    return Object.values(this.state.parameters).sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  }

  private save(): void {
    this.file.write(this.state);
  }
}

// ---- wire shapes ---------------------------------------------------------------

/** ARNs drop the leading slash of a hierarchical name: `/a/b` → `parameter/a/b`. */
const arnOf = (name: string): string => `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/${name.replace(/^\//, '')}`;

/** A `Parameter` as GetParameter answers it; dates are epoch seconds, which the SDK turns into `Date`s. */
function view(parameter: StoredParameter, version: ParameterVersion, withDecryption: boolean): Record<string, unknown> {
  return {
    Name: parameter.Name,
    Type: version.Type,
    // Without decryption AWS hands back the ciphertext; an opaque stand-in keeps callers honest.
    Value:
      version.Type === 'SecureString' && !withDecryption
        ? Buffer.from(`sandbox-kms:${version.KeyId ?? DEFAULT_KEY_ID}:${version.Value}`).toString('base64')
        : version.Value,
    Version: version.Version,
    LastModifiedDate: version.LastModifiedDate / 1000,
    ARN: arnOf(parameter.Name),
    DataType: version.DataType,
  };
}

// ---- input validation ----------------------------------------------------------

function parseInput(body: Buffer): Input {
  const text = body.toString('utf8').trim();
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Input;
  } catch {
    // answered below
  }
  throw new AwsError(400, 'SerializationException', 'Start of structure or map found where not expected.');
}

const validation = (message: string): AwsError => new AwsError(400, 'ValidationException', message);
const notFound = (name: string): AwsError => new AwsError(400, 'ParameterNotFound', `Parameter ${name} not found.`);
const memberName = (field: string): string => field.charAt(0).toLowerCase() + field.slice(1);

function requiredString(input: Input, field: string): string {
  const value = input[field];
  if (value === undefined || value === null)
    throw validation(`1 validation error detected: Value null at '${memberName(field)}' failed to satisfy constraint: Member must not be null`);
  if (typeof value !== 'string') throw new AwsError(400, 'SerializationException', `Expected a string for ${field}`);
  if (value.length === 0)
    throw validation(
      `1 validation error detected: Value '' at '${memberName(field)}' failed to satisfy constraint: Member must have length greater than or equal to 1`,
    );
  return value;
}

function optionalString(input: Input, field: string): string | undefined {
  return input[field] === undefined || input[field] === null ? undefined : requiredString(input, field);
}

function optionalEnum(input: Input, field: string, allowed: string[]): string | undefined {
  const value = optionalString(input, field);
  if (value !== undefined && !allowed.includes(value)) {
    throw validation(
      `1 validation error detected: Value '${value}' at '${memberName(field)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value;
}

function requiredNames(input: Input): string[] {
  const names = input.Names;
  if (!Array.isArray(names) || names.length === 0 || names.length > 10 || !names.every((name) => typeof name === 'string' && name.length > 0)) {
    throw validation(
      `1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1`,
    );
  }
  return names as string[];
}

function optionalTags(input: Input): Tag[] | undefined {
  if (input.Tags === undefined || input.Tags === null) return undefined;
  if (!Array.isArray(input.Tags) || !input.Tags.every((tag: Tag) => typeof tag?.Key === 'string' && typeof tag?.Value === 'string')) {
    throw validation('Tags must be a list of {Key, Value} strings');
  }
  return input.Tags as Tag[];
}

/** The naming rules PutParameter enforces. */
function validateName(name: string): void {
  if (name.length > 1011) throw validation(`Parameter name ${name.slice(0, 40)}… is longer than 1011 characters.`);
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name) || (name.includes('/') && !name.startsWith('/')) || name.includes('//') || (name.length > 1 && name.endsWith('/'))) {
    throw validation(
      'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_',
    );
  }
  if (/^\/?(aws|ssm)/i.test(name)) throw new AwsError(400, 'AccessDeniedException', `No access to reserved parameter name: ${name}.`);
  if (name.split('/').length - 1 > 15)
    throw new AwsError(400, 'HierarchyLevelLimitExceededException', 'Parameter name can have at most 15 levels of hierarchy.');
}

function patternOf(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch {
    throw new AwsError(400, 'InvalidAllowedPatternException', `The allowed pattern ${source} is not a valid regular expression.`);
  }
}

function tierOf(input: Input, previous: Tier | undefined, value: string): Tier {
  const requested = optionalEnum(input, 'Tier', ['Standard', 'Advanced', 'Intelligent-Tiering']);
  // Intelligent-Tiering picks Standard unless the value needs Advanced.
  const tier: Tier =
    requested === 'Advanced' || (requested === 'Intelligent-Tiering' && value.length > 4096) ? 'Advanced' : requested ? 'Standard' : (previous ?? 'Standard');
  if (tier === 'Standard' && value.length > 4096) {
    throw validation(
      'Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier.',
    );
  }
  if (value.length > 8192) throw validation('Advanced tier parameters support a maximum parameter value of 8192 characters.');
  return tier;
}

// ---- filters and pages ---------------------------------------------------------

type Filter = (parameter: StoredParameter) => boolean;

/** The keys each operation accepts, with their options (first = default). */
const DESCRIBE_FILTER_KEYS: Record<string, string[]> = {
  Name: ['Equals', 'BeginsWith', 'Contains'],
  Path: ['OneLevel', 'Recursive'],
  Type: ['Equals'],
  KeyId: ['Equals'],
  Tier: ['Equals'],
  DataType: ['Equals'],
};
const BY_PATH_FILTER_KEYS: Record<string, string[]> = {
  Type: ['Equals'],
  KeyId: ['Equals'],
  Tier: ['Equals'],
  DataType: ['Equals'],
};

function parameterFilters(input: Input, keys: Record<string, string[]>): Filter[] {
  const raw = input.ParameterFilters;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw validation('ParameterFilters must be a list');
  return raw.map((entry: { Key?: unknown; Option?: unknown; Values?: unknown }): Filter => {
    const key = typeof entry?.Key === 'string' ? entry.Key : '';
    const values = Array.isArray(entry.Values) ? (entry.Values as unknown[]).filter((value): value is string => typeof value === 'string') : [];
    if (key.startsWith('tag:')) {
      const tagKey = key.slice(4);
      return (parameter) => parameter.Tags.some((tag) => tag.Key === tagKey && (values.length === 0 || values.includes(tag.Value)));
    }
    const options = keys[key];
    if (!options)
      throw new AwsError(
        400,
        'InvalidFilterKey',
        `The following filter key is not valid: ${key}. Valid filter keys include: [${Object.keys(keys).join(', ')}, tag:<key>].`,
      );
    const option = entry.Option === undefined ? options[0]! : String(entry.Option);
    if (!options.includes(option))
      throw new AwsError(400, 'InvalidFilterOption', `The following filter option is not valid: ${option}. Valid options include: [${options.join(', ')}].`);
    if (values.length === 0 || values.length > 50)
      throw new AwsError(400, 'InvalidFilterValue', `The following filter values are missing or not valid for key ${key}: []. Provide 1 to 50 values.`);
    const current = (parameter: StoredParameter): ParameterVersion => parameter.history.at(-1)!;
    switch (key) {
      case 'Name':
        return (parameter) =>
          values.some((value) =>
            option === 'Equals' ? parameter.Name === value : option === 'BeginsWith' ? parameter.Name.startsWith(value) : parameter.Name.includes(value),
          );
      case 'Path':
        return (parameter) =>
          values.some((path) => {
            const prefix = path.endsWith('/') ? path : `${path}/`;
            return parameter.Name.startsWith(prefix) && (option === 'Recursive' || !parameter.Name.slice(prefix.length).includes('/'));
          });
      default:
        return (parameter) => values.includes(String(current(parameter)[key as 'Type' | 'KeyId' | 'Tier' | 'DataType']));
    }
  });
}

/** An opaque `NextToken`: the key of the last item returned, so pages survive inserts and deletes. */
function paginate<T>(items: T[], input: Input, maxAllowed: number, defaultSize: number, keyOf: (item: T) => string): { page: T[]; nextToken?: string } {
  const max = input.MaxResults === undefined || input.MaxResults === null ? defaultSize : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > maxAllowed) {
    throw validation(
      `1 validation error detected: Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${maxAllowed}`,
    );
  }
  let start = 0;
  if (typeof input.NextToken === 'string' && input.NextToken) {
    let after: string;
    try {
      after = JSON.parse(Buffer.from(input.NextToken, 'base64url').toString('utf8')) as string;
    } catch {
      throw new AwsError(400, 'InvalidNextToken', 'The specified token is not valid.');
    }
    if (typeof after !== 'string') throw new AwsError(400, 'InvalidNextToken', 'The specified token is not valid.');
    const index = items.findIndex((item) => keyOf(item) === after);
    // The item the token points at may have been deleted: resume after where it would have been.
    start = index >= 0 ? index + 1 : items.filter((item) => compareKeys(keyOf(item), after) <= 0).length;
  }
  const page = items.slice(start, start + max);
  const more = start + max < items.length;
  return { page, nextToken: more ? Buffer.from(JSON.stringify(keyOf(page.at(-1)!))).toString('base64url') : undefined };
}

/** Names sort as strings, versions as numbers. */
function compareKeys(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}
