import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { reportFromState } from '../../../store/redis-store.js';
import { type HomeEvaluation, type HomeWaiting, renderHome } from '../../blocks/home.js';
import type { SlackServices } from '../../services.js';
import { rolesAwaiting } from '../../waiting.js';

type HomeArgs = SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs;

interface ViewsClient {
  views: { publish(args: { user_id: string; view: ReturnType<typeof renderHome> }): Promise<unknown> };
}

/** The sign-offs `user` could give now: open, required, unsigned roles they are an approver of. */
export async function waitingFor(services: SlackServices, user: string): Promise<HomeWaiting[]> {
  const roles = await services.approvers.rolesOf(user);
  if (roles.length === 0) return [];
  const out: HomeWaiting[] = [];
  for (const s of await services.store.listOpen(100)) {
    const report = reportFromState(s);
    const ev = s.evaluation;
    for (const role of rolesAwaiting(s, report, user, roles, services.config.one_role_per_person)) {
      out.push({
        evaluationId: ev.id,
        run: ev.run,
        modelName: report.model_name,
        digest: ev.digest,
        role,
        requester: ev.requester,
      });
    }
  }
  return out;
}

export async function publishHome(services: SlackServices, client: ViewsClient, user: string): Promise<void> {
  const recent: HomeEvaluation[] = (await services.store.listRecent(20)).map((s) => ({
    evaluationId: s.evaluation.id,
    run: s.evaluation.run,
    modelName: reportFromState(s).model_name,
    gate: s.gate,
    requester: s.evaluation.requester,
    createdAt: s.evaluation.created_at,
    superseded: s.evaluation.superseded_by !== null,
  }));
  await client.views.publish({
    user_id: user,
    view: renderHome({ waiting: await waitingFor(services, user), recent }),
  });
}

export function appHomeOpened(services: SlackServices) {
  return async function onAppHomeOpened({ event, client }: HomeArgs): Promise<void> {
    if (event.tab !== 'home') return;
    await publishHome(services, client, event.user);
  };
}
