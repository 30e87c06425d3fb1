/** PUT /mechanics/{id} — admin scope; approves, suspends or moves a mechanic. */
import { putMechanic } from '../use-cases/mechanics';
import { wire } from '../wiring';
import { pusher } from '../wiring/pusher';
import { table } from '../wiring/table';
import { mechanicIdSchema, mechanicSchema, parseWith } from './shared/schemas';
import { httpHandler, json, jsonBody, pathId, requireAdmin } from './shared/http';

const deps = wire(table, pusher);

export const handler = httpHandler(async (event) => {
  requireAdmin(event);
  const mechanicId = parseWith(mechanicIdSchema, pathId(event), 'id');
  const input = parseWith(mechanicSchema, jsonBody(event));
  const mechanic = await putMechanic(deps, { mechanicId, status: input.status, name: input.name, workshopId: input.workshop_id });
  return json(200, mechanic);
});
