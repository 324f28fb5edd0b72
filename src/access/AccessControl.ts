import { join } from 'node:path';
import type { Logger } from '../log/Logger.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { AccountService } from '../accounts/AccountService.ts';
import { AccountStore } from '../accounts/AccountStore.ts';
import { AdminTokenFile } from '../accounts/AdminTokenFile.ts';
import { ApiKeyAuthenticator } from '../accounts/ApiKeyAuthenticator.ts';
import type { Authenticator } from '../auth/Authenticator.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';
import { AuditLog } from '../tracking/AuditLog.ts';
import { UsageReporter, type UsageReporterOptions } from '../tracking/UsageReporter.ts';
import { InstanceIdentity } from '../federation/InstanceIdentity.ts';
import { SiteOverlay } from '../federation/SiteOverlay.ts';
import { GrantStore } from './GrantStore.ts';
import { ImageAccess, type TrustJudge } from './ImageAccess.ts';

export interface AccessControlSettings {
  dataDir: string;
  instanceName: string | undefined;
  audit: { dir: string; maxBytes: number; keep: number };
  auth: { keyHashCost: number };
}

/**
 * Who may do what, and what happened, for one instance: accounts and their keys, grants, the access
 * rules, authentication, the audit log and usage reports. All of it lives in the data directory,
 * none of it in the catalogue.
 */
export class AccessControl {
  readonly accounts: AccountService;
  readonly grants: GrantStore;
  /** Which instance this is: whose accounts own which records. */
  readonly identity: InstanceIdentity;
  /** The images of other instances this site does not offer. */
  readonly overlay: SiteOverlay;
  readonly access: ImageAccess;
  readonly authenticator: Authenticator;
  readonly audit: AuditLog;
  readonly reports: UsageReporter;
  readonly adminTokenFile: AdminTokenFile;
  /** The first admin's key (the admin-token file), '' when that file was removed. */
  readonly adminToken: string;
  /** The admin token was made by this start: show it once. */
  readonly adminTokenCreated: boolean;

  private constructor(parts: Omit<AccessControl, 'close'>) {
    this.accounts = parts.accounts;
    this.grants = parts.grants;
    this.identity = parts.identity;
    this.overlay = parts.overlay;
    this.access = parts.access;
    this.authenticator = parts.authenticator;
    this.audit = parts.audit;
    this.reports = parts.reports;
    this.adminTokenFile = parts.adminTokenFile;
    this.adminToken = parts.adminToken;
    this.adminTokenCreated = parts.adminTokenCreated;
  }

  static async open(settings: AccessControlSettings, logger: Logger, usage: { images: () => Iterable<ImageRecord>; stats: AccessStats; expiring?: UsageReporterOptions['expiring'] }, trust?: TrustJudge): Promise<AccessControl> {
    const store = await AccountStore.open(join(settings.dataDir, 'accounts.json'));
    const adminTokenFile = new AdminTokenFile(join(settings.dataDir, 'admin-token'));
    const { token, created } = await adminTokenFile.bootstrap(store, settings.auth.keyHashCost);
    const grants = await GrantStore.open(join(settings.dataDir, 'grants.json'));
    const identity = await InstanceIdentity.open(settings.dataDir, settings.instanceName);
    const overlay = await SiteOverlay.open(join(settings.dataDir, 'site-policy.json'));
    const accounts = new AccountService({
      accounts: store,
      forgetGrantee: (grantee) => grants.forgetGrantee(grantee),
      onKeyRotated: (oldKeyId, newToken) => adminTokenFile.replaceKey(oldKeyId, newToken),
      hashCost: settings.auth.keyHashCost,
    });
    const audit = new AuditLog({ ...settings.audit, onError: (err) => logger.error({ err }, 'could not write the audit log') });
    await audit.open();
    return new AccessControl({
      accounts,
      grants,
      identity,
      overlay,
      access: new ImageAccess(grants, identity, overlay, trust),
      authenticator: new ApiKeyAuthenticator(store),
      audit,
      reports: new UsageReporter({ ...usage, audit, auditDir: settings.audit.dir }),
      adminTokenFile,
      adminToken: token ?? '',
      adminTokenCreated: created,
    });
  }

  async close(): Promise<void> {
    await this.audit.close();
  }
}
