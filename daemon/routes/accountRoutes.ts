import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AccountService } from '../../src/accounts/AccountService.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { jsonBody } from '../jsonBody.ts';

function principal(ctx: Context): Principal | undefined {
  return ctx.state['principal'] as Principal | undefined;
}

/**
 * Accounts (admins; a user may read their own and rotate their own key). A key appears in exactly two
 * answers, the ones that create it: POST /users and POST /users/:name/key.
 */
export function accountRoutes(router: Router, accounts: AccountService, maxJsonBytes: number): void {
  const json = jsonBody(maxJsonBytes);
  router.get('/whoami', (ctx) => {
    ctx.body = accounts.whoami(principal(ctx));
  });
  router.get('/users', (ctx) => {
    ctx.body = { users: accounts.listUsers(principal(ctx)) };
  });
  router.post('/users', json, async (ctx) => {
    const issued = await accounts.addUser(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `/users/${issued.user.name}`);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = issued;
  });
  router.get('/users/:name', (ctx) => {
    ctx.body = accounts.showUser(ctx.params['name']!, principal(ctx));
  });
  router.put('/users/:name', json, async (ctx) => {
    ctx.body = await accounts.updateUser(ctx.params['name']!, ctx.request.body, principal(ctx));
  });
  router.delete('/users/:name', async (ctx) => {
    ctx.body = await accounts.removeUser(ctx.params['name']!, principal(ctx));
  });
  router.post('/users/:name/key', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await accounts.rotateKey(ctx.params['name']!, principal(ctx));
  });
  router.get('/groups', (ctx) => {
    ctx.body = { groups: accounts.listGroups(principal(ctx)) };
  });
  router.post('/groups', json, async (ctx) => {
    const group = await accounts.createGroup(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `/groups/${group.name}`);
    ctx.body = group;
  });
  router.delete('/groups/:name', async (ctx) => {
    ctx.body = await accounts.deleteGroup(ctx.params['name']!, principal(ctx));
  });
  router.put('/groups/:name/members/:user', async (ctx) => {
    ctx.body = await accounts.addMember(ctx.params['name']!, ctx.params['user']!, principal(ctx));
  });
  router.delete('/groups/:name/members/:user', async (ctx) => {
    ctx.body = await accounts.removeMember(ctx.params['name']!, ctx.params['user']!, principal(ctx));
  });
}
