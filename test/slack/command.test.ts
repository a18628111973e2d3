import { describe, expect, it } from 'vitest';
import { CommandUsageError, parseCommand } from '../../src/slack/command.js';

describe('parseCommand', () => {
  it('parses every subcommand', () => {
    expect(parseCommand('run team/digits --target 85 --policy image-classifier')).toEqual({
      kind: 'run',
      run: 'team/digits',
      target: 85,
      policy: 'image-classifier',
    });
    expect(parseCommand('run team/digits --target=90.5')).toEqual({ kind: 'run', run: 'team/digits', target: 90.5 });
    // a fraction by the CLI's and the artifacts' rule: 0.9 is 90 %, and the command says it was one
    expect(parseCommand('run r --target 0.9')).toEqual({ kind: 'run', run: 'r', target: 90, targetAsFraction: '0.9' });
    expect(parseCommand('run r --target 85%')).toEqual({ kind: 'run', run: 'r', target: 85 });
    expect(parseCommand('run r --target 1')).toEqual({ kind: 'run', run: 'r', target: 100, targetAsFraction: '1' });
    expect(parseCommand('status')).toEqual({ kind: 'status' });
    expect(parseCommand('status r1')).toEqual({ kind: 'status', run: 'r1' });
    expect(parseCommand('rerun r1 export.parity')).toEqual({ kind: 'rerun', run: 'r1', check: 'export.parity' });
    expect(parseCommand('report r1')).toEqual({ kind: 'report', run: 'r1' });
    expect(parseCommand('')).toEqual({ kind: 'help' });
    expect(parseCommand('help')).toEqual({ kind: 'help' });
  });

  it.each([
    ['run', /needs the run folder/],
    ['run /etc/passwd', /absolute/],
    ['run ../other', /\.\./],
    ['run a/../../b', /\.\./],
    ['run r --target 120', /between 0 and 100/],
    ['run r --target abc', /percentage/],
    ['run r --target -5', /percentage/],
    ['run r --target 1e2', /percentage/],
    ['run r --target', /needs a value/],
    ['run r --policy "bad name"', /policy name/],
    ['run r --force', /unknown option/],
    ['run r extra', /unexpected "extra"/],
    ['rerun r signoff.technical', /unknown check id/],
    ['rerun r no.such', /unknown check id/],
    ['deploy r', /unknown subcommand/],
  ])('refuses %s', (text, msg) => {
    expect(() => parseCommand(text)).toThrow(CommandUsageError);
    expect(() => parseCommand(text)).toThrow(msg);
  });
});
