/** A tar archive of a few small entries, made in memory (context files, an empty datablock directory). */
export interface TarFile {
  name: string;
  content?: Buffer;
  directory?: boolean;
  mode?: number;
}

export function tarArchive(files: TarFile[]): Buffer {
  const blocks: Buffer[] = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const file of files) {
    const content = file.directory ? Buffer.alloc(0) : (file.content ?? Buffer.alloc(0));
    const name = file.directory ? `${file.name.replace(/\/$/, '')}/` : file.name;
    if (Buffer.byteLength(name) > 99) throw new Error(`tar entry name ${name.slice(0, 40)}... is too long`);
    const header = Buffer.alloc(512);
    header.write(name, 0, 'utf8');
    header.write(`${(file.mode ?? (file.directory ? 0o755 : 0o644)).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
    header.write('0000000\0', 108, 'latin1');
    header.write('0000000\0', 116, 'latin1');
    header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    header.write(`${mtime.toString(8).padStart(11, '0')}\0`, 136, 'latin1');
    header.write('        ', 148, 'latin1');
    header.write(file.directory ? '5' : '0', 156, 'latin1');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    blocks.push(header, content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}
