import { RampartBrowserClient } from '../../../../src/client/browser/index.js';
import { BankApp } from './app.js';
import { BankApi } from './bank-api.js';

const client = new RampartBrowserClient();
void new BankApp(client, new BankApi(client)).start();
