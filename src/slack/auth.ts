import type { ReadinessConfig } from '../config/readiness-config.js';
import { approversFor } from '../config/readiness-config.js';
import { SIGNOFF_ROLES, type SignoffRole } from '../policy/schema.js';

/** The one Web API method authorisation needs (usergroups:read). */
export interface UsergroupClient {
  usergroups: { users: { list(args: { usergroup: string }): Promise<{ ok?: boolean; users?: string[] }> } };
}

export interface ApproverDirectoryOptions {
  /** How long a user group's member list is trusted (default 5 minutes). */
  ttlMs?: number;
  now?: () => number;
}

/**
 * Who may sign which role: user ids listed in READINESS_CONFIG, or members of the configured
 * user groups (usergroups.users.list, cached per group with a TTL; concurrent lookups share one call).
 */
export class ApproverDirectory {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { at: number; members: Promise<Set<string>> }>();

  constructor(
    private readonly config: ReadinessConfig,
    private readonly client: UsergroupClient,
    opts: ApproverDirectoryOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 5 * 60_000;
    this.now = opts.now ?? Date.now;
  }

  private members(group: string): Promise<Set<string>> {
    const hit = this.cache.get(group);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.members;
    const members = this.client.usergroups.users.list({ usergroup: group }).then((r) => new Set(r.users ?? []));
    const entry = { at: this.now(), members };
    this.cache.set(group, entry);
    // a failed lookup is not cached: the next click asks Slack again
    members.catch(() => {
      if (this.cache.get(group) === entry) this.cache.delete(group);
    });
    return members;
  }

  /** True when `user` is configured for `role` directly or through one of its user groups. */
  async isApprover(user: string, role: SignoffRole): Promise<boolean> {
    const a = approversFor(this.config, role);
    if (a.users.includes(user)) return true;
    for (const g of a.usergroups) {
      if ((await this.members(g)).has(user)) return true;
    }
    return false;
  }

  /** Every role `user` may sign. */
  async rolesOf(user: string): Promise<SignoffRole[]> {
    const out: SignoffRole[] = [];
    for (const role of SIGNOFF_ROLES) if (await this.isApprover(user, role)) out.push(role);
    return out;
  }

  clear(): void {
    this.cache.clear();
  }
}
