export { VisorClient, DEFAULT_VISOR_URL } from './client/VisorClient.ts';
export type { HealthReport, ImagePage, ImagePatch, VisorClientOptions } from './client/VisorClient.ts';
export { ChecksumMismatchError, VisorClientError } from './client/VisorClientError.ts';
export type { FieldProblem, VisorClientErrorDetails } from './client/VisorClientError.ts';
export type { ImageQuery } from './client/ImageQuery.ts';
export type { TransferProgress, UploadOptions } from './client/uploadImageFile.ts';
export type { ByteRange, DownloadOptions, DownloadResult } from './client/downloadImageFile.ts';
export type { DigestAlgorithm } from './client/Checksum.ts';
export type {
  ImageBrief,
  ImageInput,
  ImageLocation,
  ImageRecord,
  ImageStatus,
  ImageView,
} from './catalog/ImageRecord.ts';
export type { HistoryEntry, FieldChange } from './catalog/ImageHistory.ts';
export type { GroupView, IssuedKey, Role, UserView } from './accounts/Account.ts';
export type { Grantee, ImageGrantsView, Permission } from './access/Permission.ts';
export type { ImageUsage, StorageUse, UsageReport, UserActivity } from './tracking/UsageReport.ts';
