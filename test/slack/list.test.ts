import { appendFile, cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTOMATED_CHECKS } from '../../src/checks/registry.js';
import { parseCommand } from '../../src/slack/command.js';
import type { EvaluationState } from '../../src/store/types.js';
import { waitFor } from '../helpers/fake-slack.js';
import { blockText, buttons, CHANNEL, U, useHarness } from './harness.js';

const FINAL = new Set(['pass', 'warn', 'fail', 'error', 'skipped']);
const HOSTILE_NAME = '<!channel> *urgent* <https://evil.example|click>';

describe('/readiness list [mine|waiting]', () => {
  const h = useHarness({ checks: AUTOMATED_CHECKS.filter((c) => !c.heavy) });
  const ev: Record<string, EvaluationState> = {};

  /** A copy of the harness's run under the artifact root, with its own bytes. */
  async function makeRun(name: string, edit?: (dir: string) => Promise<void>): Promise<string> {
    const dir = path.join(h.artifactRoot, name);
    await cp(h.runDir, dir, { recursive: true });
    await appendFile(path.join(dir, 'readiness.yml'), `\n# ${name}\n`);
    await edit?.(dir);
    return name;
  }

  /** `/readiness run` by `user`; resolves once every check is final and the gate message is posted. */
  async function evaluate(run: string, user: string): Promise<EvaluationState> {
    const ack = await h.command(user, `run ${run}`);
    expect(ack.status).toBe(200);
    return waitFor(
      async () => {
        const s = await h.store.latestForRun(run);
        return s?.evaluation.message && s.checks.every((c) => c.category === 'signoff' || FINAL.has(c.status))
          ? s
          : null;
      },
      `the evaluation of ${run}`,
      60_000,
    );
  }

  async function approve(s: EvaluationState, user: string, role: string): Promise<void> {
    const value = await waitFor(
      () => buttons(h.message(s).blocks).get(`signoff_approve_${role}`),
      `the ${role} button of ${s.evaluation.run}`,
    );
    const before = h.ephemeralsTo(user).filter((t) => t.includes('You approved')).length;
    await h.click(user, `signoff_approve_${role}`, value);
    await waitFor(
      () => h.ephemeralsTo(user).filter((t) => t.includes('You approved')).length > before,
      `${user}'s approval`,
    );
  }

  /** The ephemeral answer (through the response_url) to `/readiness <text>` by `user`. */
  async function ask(user: string, text: string): Promise<{ text: string; blocks: unknown[]; all: string }> {
    const before = h.fake.callsOf('response_url').length;
    const ack = await h.command(user, text);
    expect(ack.status).toBe(200);
    const reply = await waitFor(() => h.fake.callsOf('response_url')[before], `the answer to ${text}`);
    expect(reply.args.response_type).toBe('ephemeral');
    const blocks = reply.args.blocks as unknown[];
    return { text: String(reply.args.text), blocks, all: blockText(blocks) };
  }

  const link = (s: EvaluationState) =>
    `<https://slack.com/archives/${CHANNEL}/p${s.evaluation.message?.ts.replace('.', '')}|gate message>`;

  beforeAll(async () => {
    await makeRun('team/alpha', async (dir) => {
      const file = path.join(dir, 'readiness.yml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(/^model_name: .*$/m, `model_name: ${JSON.stringify(HOSTILE_NAME)}`));
    });
    await makeRun('team/beta');
    await makeRun('team/gamma', async (dir) => {
      // a deployment guide without its Troubleshooting section: BLOCKED once the checks end
      const file = path.join(dir, 'docs/deployment_guide.md');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace(/#+ *Troubleshooting[\s\S]*$/i, ''));
    });
    await makeRun('team/delta');
    ev.delta = await evaluate('team/delta', U.requester);
    ev.gamma = await evaluate('team/gamma', U.requester);
    ev.alpha = await evaluate('team/alpha', U.requester);
    ev.beta = await evaluate('team/beta', U.prod);
    expect(ev.gamma.gate).toBe('blocked');
    // delta passes
    await approve(ev.delta, U.tech, 'technical');
    await approve(ev.delta, U.prod, 'product');
    await approve(ev.delta, U.comp, 'compliance');
    await waitFor(async () => (await h.store.getState(ev.delta!.evaluation.id))?.gate === 'passed', 'delta PASSED');
  }, 240_000);

  it('parses list, list mine, list waiting and refuses anything else; the help names it', async () => {
    expect(parseCommand('list')).toEqual({ kind: 'list', filter: 'open' });
    expect(parseCommand('list mine')).toEqual({ kind: 'list', filter: 'mine' });
    expect(parseCommand('list waiting')).toEqual({ kind: 'list', filter: 'waiting' });
    expect(() => parseCommand('list everything')).toThrow(/`list` takes `mine` or `waiting`/);
    expect(() => parseCommand('list mine waiting')).toThrow(/at most 1 argument/);
    const help = await h.command(U.outsider, 'help');
    expect(blockText(JSON.parse(help.text).blocks)).toContain('`/readiness list [mine|waiting]`');
  });

  it('list: open evaluations newest first, with status, what they wait for and a link; terminal ones left out', async () => {
    const r = await ask(U.outsider, 'list');
    expect(r.all).toContain('*Open evaluations* (2, newest first)');
    const rows = (r.blocks as { text?: { text: string } }[]).slice(1).map((b) => b.text?.text ?? '');
    expect(rows).toHaveLength(2);
    // beta was created after alpha
    expect(rows[0]).toContain('`team/beta`');
    expect(rows[0]).toContain(link(ev.beta!));
    expect(rows[0]).toContain(`Requested by <@${U.prod}>`);
    expect(rows[0]).toContain('⏳ PENDING');
    expect(rows[0]).toContain('Waiting for sign-off: Technical Lead, Product Owner, Compliance');
    expect(rows[1]).toContain('`team/alpha`');
    expect(rows[1]).toContain(link(ev.alpha!));
    // the run's own model name is inert text
    expect(rows[1]).toContain('&lt;!channel&gt; *urgent*');
    expect(r.all).not.toContain('<!channel>');
    expect(r.all).not.toContain('<https://evil.example');
    // BLOCKED (every check final) and PASSED evaluations are not open
    expect(r.all).not.toContain('team/gamma');
    expect(r.all).not.toContain('team/delta');
  });

  it('list mine: only the evaluations I requested', async () => {
    const prod = await ask(U.prod, 'list mine');
    expect(prod.all).toContain('*Open evaluations you requested* (1, newest first)');
    expect(prod.all).toContain('`team/beta`');
    expect(prod.all).not.toContain('team/alpha');
    const other = await ask(U.comp, 'list mine');
    expect(other.all).toBe('You have no open evaluations.');
  });

  it('list waiting: roles I may sign and have not; not my own request, not a role I signed, not after I signed another', async () => {
    const comp = await ask(U.comp, 'list waiting');
    expect(comp.all).toContain('*Evaluations waiting for your sign-off* (2, newest first)');
    expect(comp.all).toMatch(/team\/beta[\s\S]*You can sign: \*Compliance\*[\s\S]*team\/alpha/);
    // U.prod may sign product, but requested beta
    const prod = await ask(U.prod, 'list waiting');
    expect(prod.all).toContain('(1, newest first)');
    expect(prod.all).toContain('`team/alpha`');
    expect(prod.all).not.toContain('team/beta');
    // U.tech may sign technical and product
    const tech = await ask(U.tech, 'list waiting');
    expect(tech.all).toContain('You can sign: *Technical Lead*, *Product Owner*');
    expect((await ask(U.outsider, 'list waiting')).all).toBe('Nothing is waiting for your sign-off.');

    // once U.comp signed alpha, alpha waits no more for U.comp; U.tech signed beta's technical role,
    // so beta no longer waits for U.tech at all (one role per person), while alpha still does
    await approve(ev.alpha!, U.comp, 'compliance');
    await approve(ev.beta!, U.tech, 'technical');
    const compAfter = await ask(U.comp, 'list waiting');
    expect(compAfter.all).toContain('(1, newest first)');
    expect(compAfter.all).not.toContain('team/alpha');
    const techAfter = await ask(U.tech, 'list waiting');
    expect(techAfter.all).toContain('`team/alpha`');
    expect(techAfter.all).not.toContain('team/beta');
    // the open list shows what is left
    const all = await ask(U.outsider, 'list');
    expect(all.all).toMatch(/team\/beta[^\n]*\nWaiting for sign-off: Product Owner, Compliance/);
  });

  it('a PASSED gate re-opened by a withdrawal is open again (the index follows the transition)', async () => {
    const passed = await waitFor(() => {
      const m = h.message(ev.delta!);
      return blockText(m.blocks).includes('✅ PASSED') ? m : null;
    }, 'delta PASSED on its message');
    await h.click(U.comp, 'signoff_withdraw_compliance', buttons(passed.blocks).get('signoff_withdraw_compliance')!);
    await waitFor(() => h.ephemeralsTo(U.comp).some((t) => t.includes('re-opened')), 'the withdrawal');
    const r = await ask(U.outsider, 'list');
    expect(r.all).toContain('(3, newest first)');
    expect(r.all).toMatch(/team\/delta[^\n]*\nWaiting for sign-off: Compliance/);
    expect((await ask(U.comp, 'list waiting')).all).toContain('`team/delta`');
  });
});
