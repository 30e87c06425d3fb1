/** `mechanics put|list`: writes go through the admin route, as an admin's would; the list reads the table. */
import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { keys, withoutKeys } from '../lambdas/adapters/dynamodb-keys';
import type { Mechanic, MechanicStatus } from '../lambdas/domain/mechanic';
import { callApi } from './clients';
import { OpsError } from './errors';
import type { Target } from './target';

/** The sandbox mints an admin-scope token (POST /dev/token); against AWS the operator brings one. */
export async function adminToken(target: Target): Promise<string> {
  if (target.adminToken) return target.adminToken;
  if (target.mode === 'aws') throw new OpsError('missing_token', 'mechanics put needs an admin-scope JWT: --admin-token or PRIORITY_DISPATCH_ADMIN_TOKEN');
  return (await callApi<{ token: string }>(target, 'POST', '/dev/token', { body: { sub: 'ops', scope: 'admin' } })).token;
}

export async function putMechanic(target: Target, input: { id: string; status: MechanicStatus; displayName?: string; workshopId?: string }): Promise<Mechanic> {
  return callApi<Mechanic>(target, 'PUT', `/mechanics/${encodeURIComponent(input.id)}`, {
    token: await adminToken(target),
    body: { status: input.status, name: input.displayName, workshop_id: input.workshopId },
  });
}

/** Mechanics have no index of their own: this Scans the table, keeping the mechanic items (few, but every item is read). */
export async function listMechanics(db: DynamoDBDocumentClient, tableName: string): Promise<Mechanic[]> {
  const mechanics: Mechanic[] = [];
  const pages = paginateScan(
    { client: db },
    { TableName: tableName, FilterExpression: 'begins_with(pk, :prefix)', ExpressionAttributeValues: { ':prefix': keys.mechanic('').pk } },
  );
  for await (const page of pages) for (const item of page.Items ?? []) mechanics.push(withoutKeys<Mechanic>(item));
  return mechanics.sort((a, b) => a.mechanic_id.localeCompare(b.mechanic_id));
}
