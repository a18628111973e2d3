import type { App } from '@slack/bolt';
import type { BackgroundWork } from '../background.js';
import type { SlackServices } from '../services.js';
import * as actions from './actions/index.js';
import * as commands from './commands/index.js';
import * as events from './events/index.js';
import * as views from './views/index.js';

export function registerListeners(app: App, services: SlackServices, background: BackgroundWork): void {
  commands.register(app, services, background);
  actions.register(app, services, background);
  views.register(app, services, background);
  events.register(app, services);
}
