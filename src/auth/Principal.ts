/** Who is calling. Anonymous callers have no principal at all. */
export interface Principal {
  /** Account name; becomes the owner of what it creates and the author of its commits. */
  name: string;
  admin: boolean;
  /** An account of the sync role: it may trigger upstream syncs, and acts as anonymous for all else. */
  syncOnly?: boolean;
  /** Groups the account belonged to when the request was authenticated. */
  groups?: readonly string[];
  /** The API key that authenticated the request (for the audit log); absent for the daemon itself. */
  keyId?: string;
}
