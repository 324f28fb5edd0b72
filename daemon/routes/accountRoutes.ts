import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import type { AccountService } from '../../src/accounts/AccountService.ts';
import { assertAdmin } from '../../src/auth/callerRules.ts';
import { jsonBody } from '../jsonBody.ts';
import { on, principal } from '../route.ts';

/**
 * Accounts (admins; a user may read their own and rotate their own key). A key appears in exactly two
 * answers, the ones that create it: POST /users and POST /users/:name/key.
 */
export function accountRoutes(router: Router, accounts: AccountService, maxJsonBytes: number): void {
  const json = (what: string) => jsonBody(maxJsonBytes, (who) => assertAdmin(who, what));
  on(router, ROUTES.whoami, (ctx) => {
    ctx.body = accounts.whoami(principal(ctx));
  });
  on(router, ROUTES.listUsers, (ctx) => {
    ctx.body = { users: accounts.listUsers(principal(ctx)) };
  });
  on(router, ROUTES.createUser, json('add users'), async (ctx) => {
    const issued = await accounts.addUser(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `/users/${issued.user.name}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = issued;
  });
  on(router, ROUTES.showUser, (ctx) => {
    ctx.body = accounts.showUser(ctx.params['name']!, principal(ctx));
  });
  on(router, ROUTES.updateUser, json('change users'), async (ctx) => {
    ctx.body = await accounts.updateUser(ctx.params['name']!, ctx.request.body, principal(ctx));
  });
  on(router, ROUTES.removeUser, async (ctx) => {
    ctx.body = await accounts.removeUser(ctx.params['name']!, principal(ctx));
  });
  on(router, ROUTES.rotateKey, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await accounts.rotateKey(ctx.params['name']!, principal(ctx));
  });
  on(router, ROUTES.listGroups, (ctx) => {
    ctx.body = { groups: accounts.listGroups(principal(ctx)) };
  });
  on(router, ROUTES.createGroup, json('create groups'), async (ctx) => {
    const group = await accounts.createGroup(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `/groups/${group.name}`);
    ctx.body = group;
  });
  on(router, ROUTES.deleteGroup, async (ctx) => {
    ctx.body = await accounts.deleteGroup(ctx.params['name']!, principal(ctx));
  });
  on(router, ROUTES.addGroupMember, async (ctx) => {
    ctx.body = await accounts.addMember(ctx.params['name']!, ctx.params['user']!, principal(ctx));
  });
  on(router, ROUTES.removeGroupMember, async (ctx) => {
    ctx.body = await accounts.removeMember(ctx.params['name']!, ctx.params['user']!, principal(ctx));
  });
}
