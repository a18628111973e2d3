import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { GateError, errorMessage } from '../../../errors.js';
import { renderMarkdown } from '../../../report/markdown.js';
import { reportFromState } from '../../../store/redis-store.js';
import type { EvaluationState } from '../../../store/types.js';
import { renderHelp, renderInlineReport, renderNotice, renderStatus, renderUsageError, reportFilename, type StatusRow } from '../../blocks/replies.js';
import { escapeMrkdwn } from '../../blocks/limits.js';
import type { BackgroundWork } from '../../background.js';
import { CommandUsageError, parseCommand, type ReadinessCommand } from '../../command.js';
import type { SlackServices } from '../../services.js';

type CommandArgs = SlackCommandMiddlewareArgs & AllMiddlewareArgs;
type Respond = CommandArgs['respond'];

function ephemeral(msg: { text: string; blocks: unknown[] }): { response_type: 'ephemeral'; text: string; blocks: never[] } {
  return { response_type: 'ephemeral', text: msg.text, blocks: msg.blocks as never[] };
}

function statusRow(s: EvaluationState): StatusRow {
  const r = reportFromState(s);
  return { run: s.evaluation.run, modelName: r.model_name, gate: s.gate, evaluationId: s.evaluation.id, blocking: r.blocking, outstanding: r.outstanding };
}

/** Errors a user can act on (run not found, path escapes, bad policy) versus our own failures. */
function userFacing(err: unknown): string {
  if (err instanceof GateError) return err.message;
  return `something went wrong on our side (${errorMessage(err)}); try again, or ask the gate's maintainers`;
}

/**
 * `/readiness …`: parse, ack at once (usage errors and help in the ack itself), then do the work
 * in the background and answer ephemerally or through the gate message.
 */
export function readinessCommand(services: SlackServices, background: BackgroundWork) {
  return async function onReadinessCommand({ command, ack, respond, client, context }: CommandArgs): Promise<void> {
    let cmd: ReadinessCommand;
    try {
      cmd = parseCommand(command.text ?? '');
    } catch (err) {
      if (!(err instanceof CommandUsageError)) throw err;
      await ack(ephemeral(renderUsageError(err.message)));
      return;
    }
    if (cmd.kind === 'help') {
      await ack(ephemeral(renderHelp()));
      return;
    }
    if (cmd.kind === 'run' || cmd.kind === 'rerun') await ack(ephemeral(renderNotice(`⏳ Evaluating \`${escapeMrkdwn(cmd.run)}\`… the gate message will appear in this channel.`)));
    else await ack();

    const retryNum = typeof context.retryNum === 'number' ? context.retryNum : 0;
    background.run(async () => {
      try {
        switch (cmd.kind) {
          case 'run':
          case 'rerun': {
            // A Slack retry carries the same trigger id: one evaluation per trigger.
            const first = await services.store.dedupe(`command:${command.team_id}:${command.trigger_id}`, services.dedupeTtlMs ?? 3_600_000);
            if (!first) {
              services.log.info({ trigger: command.trigger_id, retryNum }, 'duplicate /readiness command dropped');
              return;
            }
            if (cmd.kind === 'rerun' && cmd.check) {
              const r = await services.submitter.rerunCheck({ run: cmd.run, check: cmd.check, requester: command.user_id, channel: command.channel_id });
              if (r.kind === 'new') {
                services.renderer.watch(r.result.evaluation.id);
                if (r.result.superseded) services.renderer.schedule(r.result.superseded.id);
                await respond(ephemeral(renderNotice(`A new evaluation was created (${escapeMrkdwn(r.why)}): every check runs again; earlier approvals do not carry over.`)));
              } else {
                services.renderer.watch(r.evaluation.id);
                services.renderer.schedule(r.evaluation.id);
                await respond(
                  ephemeral(
                    renderNotice(
                      r.kind === 'check'
                        ? `\`${r.check}\` runs again on the same artifacts (evaluation ${r.evaluation.id}); the gate is pending until it finishes.`
                        : `\`${r.check}\` is still pending or running in evaluation ${r.evaluation.id}; nothing to rerun yet.`,
                    ),
                  ),
                );
              }
              return;
            }
            const out = await services.submitter.submit({
              run: cmd.run,
              requester: command.user_id,
              channel: command.channel_id,
              target: cmd.kind === 'run' ? cmd.target : undefined,
              policy: cmd.kind === 'run' ? cmd.policy : undefined,
            });
            services.renderer.watch(out.evaluation.id);
            if (out.superseded) services.renderer.schedule(out.superseded.id);
            return;
          }
          case 'status':
            await statusReply(services, respond, cmd.run);
            return;
          case 'report':
            await reportReply(services, respond, client, command.channel_id, cmd.run);
            return;
        }
      } catch (err) {
        services.log.warn({ err, command: cmd.kind }, '/readiness command failed');
        await respond(ephemeral(renderNotice(`⚠️ ${escapeMrkdwn(userFacing(err))}`)));
      }
    });
  };
}

async function statusReply(services: SlackServices, respond: Respond, run: string | undefined): Promise<void> {
  const states = run ? [await services.store.latestForRun(run)].filter((s): s is EvaluationState => s !== null) : await services.store.listOpen(50);
  await respond(ephemeral(renderStatus(states.map(statusRow), run)));
}

/** The final report (same renderer as `readiness check --format markdown`): inline when small, else a file. */
async function reportReply(services: SlackServices, respond: Respond, client: CommandArgs['client'], channel: string, run: string): Promise<void> {
  const state = await services.store.latestForRun(run);
  if (!state) {
    await respond(ephemeral(renderNotice(`No evaluation of \`${escapeMrkdwn(run)}\` yet. Start one with \`/readiness run ${escapeMrkdwn(run)}\`.`)));
    return;
  }
  const markdown = renderMarkdown(reportFromState(state));
  const inline = renderInlineReport(markdown, run);
  if (inline) {
    await client.chat.postMessage({ channel, text: inline.text, blocks: inline.blocks });
    return;
  }
  await client.filesUploadV2({ channel_id: channel, content: markdown, filename: reportFilename(run), title: `Readiness report: ${run}`, initial_comment: `Final readiness report for \`${run}\`` });
}
