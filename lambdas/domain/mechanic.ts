/** Mechanics and their live WebSocket connections. */

export const MECHANIC_STATUSES = ['approved', 'pending', 'suspended'] as const;
export type MechanicStatus = (typeof MECHANIC_STATUSES)[number];

export interface Mechanic {
  readonly mechanic_id: string;
  readonly status: MechanicStatus;
  readonly name: string | null;
  readonly workshop_id: string | null;
  readonly updated_at: string;
}

/** Only approved mechanics connect, receive offers and accept. */
export const canWork = (mechanic: Mechanic | undefined): boolean => mechanic?.status === 'approved';

export interface Connection {
  readonly connection_id: string;
  readonly mechanic_id: string;
  readonly workshop_id: string | null;
  readonly connected_at: string;
}
