/** Who is calling. Anonymous callers have no principal at all. */
export interface Principal {
  /** Account name; becomes the owner of what it creates and the author of its commits. */
  name: string;
  admin: boolean;
}
