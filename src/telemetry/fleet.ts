// What an instance knows of the other instances on its shared volume. The journal, the leader lock and
// eviction live in the store; telemetry only asks this interface, which src/server/fleet-view.ts answers
// from the volume's status files ("not known" until it has read them).

export interface FleetInstance {
  id: string;
  /** When the instance last wrote to its journal, ISO 8601. */
  lastSeen: string;
  leader: boolean;
}

export interface LastEviction {
  /** ISO 8601. */
  at: string;
  objects: number;
  bytes: number;
}

export interface FleetStatus {
  /** Whether this instance holds the leader lock; null when not known. */
  isLeader(): boolean | null;
  /** Instances active on the volume, this one included; null when not known. */
  instances(): FleetInstance[] | null;
  /** Bytes of cached data on the whole volume as the leader last counted them; null when not known. */
  volumeBytes(): number | null;
  lastEviction(): LastEviction | null;
}
