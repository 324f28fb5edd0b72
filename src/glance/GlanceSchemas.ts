import { GLANCE_STATUSES } from './GlanceStatus.ts';

export const DISK_FORMATS = [null, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop'];
export const CONTAINER_FORMATS = [null, 'ami', 'ari', 'aki', 'bare', 'ovf', 'ova', 'docker', 'compressed'];
const UUID = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';

const readOnly = (schema: Record<string, unknown>) => ({ ...schema, readOnly: true });
const custom = (description: string, extra: Record<string, unknown> = {}) => ({ type: 'string', description, is_base: false, ...extra });

/**
 * The image schema glanceclient fetches, caches and validates answers with (warlock): all four
 * visibilities, custom properties as strings, and no `stores` property (glanceclient 4.1 turns every
 * property into a CLI option, and `--stores` clashes with one of its own).
 */
export const IMAGE_SCHEMA = {
  name: 'image',
  properties: {
    id: { type: 'string', description: 'An identifier for the image', pattern: UUID },
    name: { type: ['null', 'string'], description: 'Descriptive name for the image', maxLength: 255 },
    status: readOnly({ type: 'string', description: 'Status of the image', enum: [...GLANCE_STATUSES] }),
    visibility: { type: 'string', description: 'Scope of image accessibility', enum: ['community', 'public', 'private', 'shared'] },
    protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
    os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
    checksum: readOnly({ type: ['null', 'string'], description: 'md5 hash of image contents.', maxLength: 32 }),
    os_hash_algo: readOnly({ type: ['null', 'string'], description: 'Algorithm to calculate the os_hash_value', maxLength: 64 }),
    os_hash_value: readOnly({ type: ['null', 'string'], description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo', maxLength: 128 }),
    owner: { type: ['null', 'string'], description: 'Owner of the image (a VISOR account)', maxLength: 255 },
    size: readOnly({ type: ['null', 'integer'], description: 'Size of image file in bytes' }),
    virtual_size: readOnly({ type: ['null', 'integer'], description: 'Virtual size of image in bytes' }),
    container_format: { type: ['null', 'string'], description: 'Format of the container', enum: CONTAINER_FORMATS },
    disk_format: { type: ['null', 'string'], description: 'Format of the disk', enum: DISK_FORMATS },
    created_at: readOnly({ type: 'string', description: 'Date and time of image registration' }),
    updated_at: readOnly({ type: 'string', description: 'Date and time of the last image modification' }),
    tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
    direct_url: readOnly({ type: 'string', description: 'URL to access the image file kept in external store' }),
    min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
    min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
    self: readOnly({ type: 'string', description: 'An image self url' }),
    file: readOnly({ type: 'string', description: 'An image file url' }),
    schema: readOnly({ type: 'string', description: 'An image schema url' }),
    locations: {
      type: 'array',
      description: 'A set of URLs to access the image file kept in external store',
      items: { type: 'object', properties: { url: { type: 'string', maxLength: 255 }, metadata: { type: 'object' } }, required: ['url', 'metadata'] },
    },
    architecture: custom('Operating system architecture as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html'),
    description: custom('A human-readable string describing this image.'),
    kernel_id: custom('ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.', { type: ['null', 'string'], pattern: UUID }),
    ramdisk_id: custom('ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.', { type: ['null', 'string'], pattern: UUID }),
    instance_uuid: custom('Metadata which can be used to record which instance this image is associated with.'),
    os_distro: custom('Common name of operating system distribution as specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html'),
    os_version: custom('Operating system version as specified by the distributor.'),
  },
  additionalProperties: { type: 'string' },
  links: [
    { rel: 'self', href: '{self}' },
    { rel: 'enclosure', href: '{file}' },
    { rel: 'describedby', href: '{schema}' },
  ],
};

export const IMAGES_SCHEMA = {
  name: 'images',
  properties: {
    images: { type: 'array', items: IMAGE_SCHEMA },
    schema: { type: 'string' },
    first: { type: 'string' },
    next: { type: 'string' },
  },
  links: [
    { rel: 'first', href: '{first}' },
    { rel: 'next', href: '{next}' },
    { rel: 'describedby', href: '{schema}' },
  ],
};

export const MEMBER_SCHEMA = {
  name: 'member',
  properties: {
    created_at: { type: 'string', description: 'Date and time of image member creation' },
    image_id: { type: 'string', description: 'An identifier for the image', pattern: UUID },
    member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
    status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
    updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
    schema: readOnly({ type: 'string' }),
  },
};

export const MEMBERS_SCHEMA = {
  name: 'members',
  properties: {
    members: { type: 'array', items: MEMBER_SCHEMA },
    schema: { type: 'string' },
  },
  links: [{ rel: 'self', href: '{self}' }, { rel: 'schema', href: '{schema}' }],
};

/** The schemas served at /v2/schemas/{name}. */
export const GLANCE_SCHEMAS: Readonly<Record<string, object>> = { image: IMAGE_SCHEMA, images: IMAGES_SCHEMA, member: MEMBER_SCHEMA, members: MEMBERS_SCHEMA };
