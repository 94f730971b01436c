import type {
  ContainerCreateBody,
  ContainerInspect,
  ContainerPathStat,
  ContainerSummary,
  ContainerUpdateBody,
  EngineInfo,
  EngineVersion,
  ImageInspect,
  ImageSummary,
  VolumeSummary,
} from './types.ts';

/** A command run in a container: its process on the host while it runs, its exit code once it has ended. */
export interface ExecState {
  running: boolean;
  exitCode: number | null;
  /** The process id on the host (0 once it has ended). */
  pid: number;
}

/**
 * What dockvisor asks of a container engine on one host. The EngineClient speaks it to a Docker engine;
 * drivers/engine/memory-engine.ts keeps it in memory for tests. Failures are the errors of ./errors.ts:
 * EngineNotFoundError for a missing container, image or volume, EngineConflictError for a name taken or a
 * state that forbids the verb ("is not running", "is paused"), EngineError for anything else.
 */
export interface Engine {
  close(): Promise<void>;
  version(): Promise<EngineVersion>;
  info(): Promise<EngineInfo>;

  inspectContainer(name: string): Promise<ContainerInspect>;
  /** The container, or undefined when there is none of that name. */
  findContainer(name: string): Promise<ContainerInspect | undefined>;
  /** Containers carrying every one of the given labels (`key` or `key=value`), stopped ones included. */
  listContainers(labels: string[], withSizes?: boolean): Promise<ContainerSummary[]>;
  /** Returns the new container's id; a taken name is an EngineConflictError, a missing image an EngineNotFoundError. */
  createContainer(name: string, body: ContainerCreateBody): Promise<string>;
  /** Starting a running container is no error. */
  startContainer(name: string): Promise<void>;
  /** Graceful stop, then a kill after `graceSeconds`; stopping a stopped container is no error. */
  stopContainer(name: string, graceSeconds: number): Promise<void>;
  restartContainer(name: string, graceSeconds: number): Promise<void>;
  /** A container that is not running is an EngineConflictError; a paused one is killed. */
  killContainer(name: string, signal?: string): Promise<void>;
  pauseContainer(name: string): Promise<void>;
  /** A container that is not paused is an EngineError (the engine answers 500, not a conflict). */
  unpauseContainer(name: string): Promise<void>;
  /** Forced: a running container is killed first; its anonymous volumes go with it. */
  removeContainer(name: string): Promise<void>;
  updateContainer(name: string, body: ContainerUpdateBody): Promise<void>;
  /** A name another container has is an EngineConflictError. */
  renameContainer(name: string, newName: string): Promise<void>;
  /** Saves the container's filesystem as an image `repo:tag`; returns the image id. */
  commitContainer(name: string, repo: string, tag: string, labels: Record<string, string>): Promise<string>;
  /** Copies a tar archive into the container's filesystem, unpacked at `path`. */
  putArchive(name: string, path: string, tar: Buffer): Promise<void>;
  /** A tar archive of `path` in the container's filesystem, read as it arrives. */
  openArchive(name: string, path: string, timeoutMs: number): Promise<NodeJS.ReadableStream>;
  containerLogs(name: string, tailLines: number): Promise<string>;
  /** Whether the engine saw the kernel's OOM killer act in the container between two ISO times (its `oom` events). */
  sawOomKill(name: string, since: string, until: string): Promise<boolean>;
  /** Whether `path` exists in the existing container's filesystem (a symbolic link counts, wherever it points). */
  pathExists(name: string, path: string): Promise<boolean>;
  /** What `path` is in the container's filesystem, resolved by the engine inside it; a symbolic link is not followed. */
  statPath(name: string, path: string): Promise<ContainerPathStat | undefined>;

  /** A command to run in the running container, not started yet; a container that is not running is an EngineConflictError. */
  createExec(name: string, argv: string[], withStdin: boolean): Promise<string>;
  /**
   * Starts the command, gives it `stdin` (then end of input) and hands each piece of its output to `onOutput`
   * until it ends. A command the container does not have ends at once with the engine's message as its output.
   */
  runExec(id: string, stdin: Buffer | undefined, onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): Promise<void>;
  inspectExec(id: string): Promise<ExecState>;

  inspectImage(reference: string): Promise<ImageInspect>;
  findImage(reference: string): Promise<ImageInspect | undefined>;
  listImages(labels: string[]): Promise<ImageSummary[]>;
  /** Forced: every tag of the image goes. */
  removeImage(reference: string): Promise<void>;
  pullImage(reference: string, timeoutMs: number, registryAuth?: string): Promise<void>;
  /** Returns the digest the registry gave the pushed image. */
  pushImage(repository: string, tag: string, timeoutMs: number, registryAuth?: string): Promise<string>;
  /** The image as `docker save` writes it, read as it arrives. */
  saveImage(reference: string, timeoutMs: number): Promise<NodeJS.ReadableStream>;
  /** Loads a `docker save` archive; returns the engine's report, one `Loaded image ID: sha256:…` (or `Loaded image: name`) line an image. */
  loadImage(archive: NodeJS.ReadableStream, timeoutMs: number): Promise<string[]>;
  tagImage(reference: string, repo: string, tag: string): Promise<void>;
  /** Tags of images in `repository` (`repo:tag` strings). */
  imageTags(repository: string): Promise<string[]>;

  createVolume(name: string, labels: Record<string, string>): Promise<void>;
  volumeExists(name: string): Promise<boolean>;
  /** Where the volume's files are on the host (the local driver's directory). */
  volumeMountpoint(name: string): Promise<string>;
  listVolumes(labels: string[]): Promise<string[]>;
  /** The volumes carrying every one of the given labels, with all their labels. */
  describeVolumes(labels: string[]): Promise<VolumeSummary[]>;
  /** The space each volume takes, by name, as the engine measures it: every volume on disk at once, so slow. */
  volumeSizes(): Promise<Record<string, number>>;
  /** A missing volume is no error. */
  removeVolume(name: string): Promise<void>;
}
