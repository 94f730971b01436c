/** A host that answers commands from a script and remembers what it was asked: for plans that must not run here. */
export class ScriptedHost {
  readonly commands: string[] = [];
  readonly target = { user: 'root', address: '10.0.0.9', port: 22 };
  constructor(private readonly answer: (command: string, host: ScriptedHost) => { code: number; stdout: string }) {}
  async run(command: string) {
    this.commands.push(command);
    return { ...this.answer(command, this), stderr: '' };
  }
  async must(command: string) {
    const result = await this.run(command);
    if (result.code !== 0) throw new Error(`${command} failed`);
    return result.stdout;
  }
  asRoot(command: string) {
    return command;
  }
}
