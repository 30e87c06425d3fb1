/** Mechanics and their live WebSocket connections. */

export const MECHANIC_STATUSES = ['approved', 'pending', 'suspended'] as const;
export type MechanicStatus = (typeof MECHANIC_STATUSES)[number];

export interface Mechanic {
  readonly mechanic_id: string;
  readonly status: MechanicStatus;
  readonly name: string | null;
  readonly workshop_id: string | null;
  readonly updated_at: string;
  /**
   * The mechanic's own choice (`pause` / `resume` on the WebSocket), not the admin's: a paused mechanic gets no
   * offers and is skipped as a favorite. Absent on records written before pausing existed: not paused.
   */
  readonly paused?: boolean;
  /** When the mechanic last paused or resumed. */
  readonly paused_at?: string;
}

/** What an admin sets (PUT /mechanics/{id}); `paused` is the mechanic's and an admin's change keeps it. */
export type MechanicProfile = Omit<Mechanic, 'paused' | 'paused_at'>;

/** Only approved mechanics connect, receive offers and accept. */
export const canWork = (mechanic: Mechanic | undefined): boolean => mechanic?.status === 'approved';

export interface Connection {
  readonly connection_id: string;
  readonly mechanic_id: string;
  readonly workshop_id: string | null;
  readonly connected_at: string;
  /** Copied from the mechanic at `$connect` and on every pause or resume, so a fan-out skips paused mechanics without reading them. */
  readonly paused?: boolean;
}

export const isPaused = (who: { paused?: boolean } | undefined): boolean => who?.paused === true;
