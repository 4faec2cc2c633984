"""The secret corpus: realistic secrets in the formats real servers write them.

Each kind is a line (or a block) as a host holds it, the secret inside it, and a shape that
says how the planting test puts it into each place (an environment assignment, a command
line, an nginx directive, a header ...). The secrets are made up here (a seeded generator
for the random parts); the formats follow what the software writes and what the public
secret scanners' rule sets describe:

- gitleaks, config/gitleaks.toml (rules aws-access-token, slack-webhook-url, slack-bot-token,
  discord-webhook?, telegram-bot-api-token, sendgrid-api-token, pypi-upload-token,
  stripe-access-token, github-pat, github-fine-grained-pat, gitlab-pat, gcp-api-key,
  openai-api-key, anthropic-api-key, npm-access-token, huggingface-access-token, jwt,
  private-key, sentry-access-token, azure-ad-client-secret, generic-api-key);
- detect-secrets, detect_secrets/plugins/ (keyword.py: the names and the assignment forms
  `=`, `:`, `:=`, quoted, in dicts; basic_auth.py: `scheme://user:pw@`; jwt.py; aws.py;
  azure_storage_key.py: `AccountKey=`; sendgrid.py; stripe.py (`rk_live_`, `sk_live_`);
  discord.py; telegram_token.py; pypi_token.py; private_key.py (PEM and PGP headers);
  high_entropy_strings.py);
- the software's own texts: libpq's connection strings and URIs (PostgreSQL docs, 34.1.1,
  "the last @ before the host"), psycopg/SQLAlchemy/pydantic error messages, nginx's
  directives and log formats, systemd's `systemctl show` and unit syntax, journald's JSON
  export (a non-UTF-8 MESSAGE as an array of byte values), redis-cli `-a`, mysql `-pPW`,
  curl `-u`, the Feishu/DingTalk custom-robot webhook documentation (access_token, sign).
"""

from __future__ import annotations

import base64
import random
from typing import NamedTuple

B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"
B64 = B62 + "+/"
URLSAFE = B62 + "-_"


def rnd(tag: str, n: int, alphabet: str = B62) -> str:
    """n random-looking characters, the same for the same tag (high entropy, like a key)."""
    return "".join(random.Random(tag).choices(alphabet, k=n))


class Kind(NamedTuple):
    """One secret format: the text a host holds, the secret in it, and its shape."""

    name: str
    text: str
    secret: str
    # value: a value that says what it is (a DSN, a token); assign: NAME=value and its
    # relatives; argv: a command line; nginx: a directive; header: an HTTP header line;
    # line: a log or error line; block: several lines (PEM, PGP).
    shape: str

    @property
    def middle(self) -> str:
        """The distinctive middle of the secret: what must not survive either."""
        n = len(self.secret)
        if n < 12:
            return self.secret
        return self.secret[n // 4:n // 4 + max(6, n // 2)]


def _k(name: str, text: str, secret: str, shape: str) -> Kind:
    assert secret in text, name
    return Kind(name, text, secret, shape)


def _pw(tag: str) -> str:
    """A password as people choose them: letters, digits, one punctuation mark."""
    return "Pw" + rnd(tag, 10) + "!" + rnd(tag + "2", 3, "0123456789")


def _kinds() -> list[Kind]:
    k: list[Kind] = []
    add = k.append
    # -- DSNs and URLs with a password (libpq URIs, SQLAlchemy URLs, RFC 3986 userinfo) ----
    s = "Dsn" + rnd("dsn", 14)
    add(_k("dsn_plain", f"postgresql://app:{s}@db.internal:5432/appdb", s, "value"))
    s = "P@ss" + rnd("dsn@", 10) + "@w0rd"
    add(_k("dsn_at_in_password", f"postgresql://app:{s}@db.internal:5432/appdb", s, "value"))
    s = "ab/" + rnd("dsn/", 12) + "/cd"
    add(_k("dsn_slash_in_password", f"postgresql://app:{s}@127.0.0.1:5432/appdb", s, "value"))
    s = "x+" + rnd("dsn+", 12) + "+y="
    add(_k("dsn_plus_in_password", f"mysql+pymysql://app:{s}@db/app?charset=utf8mb4", s,
           "value"))
    s = "correct horse " + rnd("dsnsp", 8) + " staple"
    add(_k("dsn_space_in_password", f"postgresql://app:{s}@db:5432/appdb", s, "value"))
    s = "q\"uo'" + rnd("dsnq", 12) + "te"
    add(_k("dsn_quote_in_password", f"postgresql://app:{s}@db:5432/appdb", s, "value"))
    s = "co:lon" + rnd("dsn:", 12)
    add(_k("dsn_colon_in_password", f"postgresql://app:{s}@db:5432/appdb", s, "value"))
    s = "pct%40" + rnd("dsn%", 12) + "%2F"
    add(_k("dsn_percent_encoded", f"postgresql://app:{s}@db:5432/appdb", s, "value"))
    s = "Redis" + rnd("redis", 16)
    add(_k("dsn_redis_no_user", f"redis://:{s}@cache:6379/0", s, "value"))
    s = "Amqp" + rnd("amqp", 14)
    add(_k("dsn_amqp", f"amqp://guest:{s}@mq:5672/%2F", s, "value"))
    s = "Mongo" + rnd("mongo", 16)
    add(_k("dsn_mongodb_srv",
           f"mongodb+srv://app:{s}@cluster0.ab1cd.mongodb.net/app?retryWrites=true", s,
           "value"))
    s = "Async" + rnd("asyncpg", 14)
    add(_k("dsn_sqlalchemy_driver", f"postgresql+asyncpg://app:{s}@db/app", s, "value"))
    s = "Multi" + rnd("multihost", 14)
    add(_k("dsn_multi_host", f"postgresql://app:{s}@db1:5432,db2:5432/app?target_session_attrs"
                             "=read-write", s, "value"))
    s = "Six" + rnd("ipv6", 14)
    add(_k("dsn_ipv6_host", f"postgresql://app:{s}@[::1]:5432/appdb", s, "value"))
    s = "Qry" + rnd("dsnquery", 14)
    add(_k("dsn_password_in_query", f"postgresql:///appdb?host=/run/postgresql&user=app&"
                                    f"password={s}", s, "value"))
    s = "Mssql" + rnd("mssql", 12)
    add(_k("dsn_odbc_pwd", f"Driver={{ODBC Driver 18 for SQL Server}};Server=db;Uid=app;"
                           f"Pwd={s};Encrypt=yes", s, "value"))
    s = "Jdbc" + rnd("jdbc", 12)
    add(_k("dsn_jdbc_password", f"jdbc:postgresql://db:5432/app?user=app&password={s}", s,
           "value"))
    s = "Basic" + rnd("upstreambasic", 12)
    add(_k("url_basic_auth_upstream", f"http://admin:{s}@10.0.3.7:8080/internal/", s, "value"))
    # -- errors that echo a DSN (psycopg, SQLAlchemy, libpq, pydantic) ---------------------
    s = "Sqla" + rnd("sqla", 14)
    add(_k("sqlalchemy_parse_error",
           "sqlalchemy.exc.ArgumentError: Could not parse SQLAlchemy URL from string "
           f"'postgres://app:{s}@db/app'", s, "line"))
    s = "Psy" + rnd("psyinvalid", 14)
    add(_k("psycopg_invalid_dsn",
           f'psycopg2.ProgrammingError: invalid dsn: missing "=" after "postgresql://app:{s}'
           '@db/app" in connection info string', s, "line"))
    s = "Host" + rnd("libpqhost", 12)
    add(_k("libpq_host_mistake",
           f'could not translate host name "app:{s}@db.internal" to address: Name or '
           "service not known", s, "line"))
    s = "Kv" + rnd("libpqkv", 14)
    add(_k("libpq_keyword_string", f"host=db port=5432 dbname=app user=app password={s} "
                                   "sslmode=require", s, "assign"))
    s = "sp ace" + rnd("libpqq", 10) + "\\'q"
    add(_k("libpq_keyword_quoted", f"host=db dbname=app user=app password='{s}' "
                                   "connect_timeout=3", s, "assign"))
    s = "Kw" + rnd("psykwargs", 14)
    add(_k("psycopg_kwargs_traceback",
           f"    conn = psycopg2.connect(host='db', user='app', password='{s}', dbname='app')",
           s, "line"))
    s = "Apg" + rnd("asyncpgkw", 14)
    add(_k("asyncpg_kwargs_traceback",
           f'    pool = await asyncpg.create_pool(user="app", password="{s}", host="db")', s,
           "line"))
    s = "Pyd" + rnd("pydantic", 14)
    add(_k("pydantic_input_value_dsn",
           "  Input should be a valid URL, relative URL without a base [type=url_parsing, "
           f"input_value='postgresq://app:{s}@db:5432/app', input_type=str]", s, "line"))
    s = "Pdd" + rnd("pydanticdict", 14)
    add(_k("pydantic_input_value_dict",
           "  Field required [type=missing, input_value={'db_pass': '" + s + "', 'host': "
           "'db'}, input_type=dict]", s, "line"))
    s = "Dj" + rnd("django", 14)
    add(_k("django_databases_repr",
           "{'ENGINE': 'django.db.backends.postgresql', 'NAME': 'app', 'USER': 'app', "
           f"'PASSWORD': '{s}', 'HOST': 'db', 'PORT': 5432}}", s, "line"))
    s = "Cfg" + rnd("dataclassrepr", 14)
    add(_k("python_repr_kwargs", f"Settings(app_name='api', redis_auth='{s}', debug=False)",
           s, "line"))
    # -- assignments: names by meaning, every separator and quoting ------------------------
    for name, key, sep in (
            ("env_postgres_password", "POSTGRES_PASSWORD", "="),
            ("env_db_pass", "DB_PASS", "="),
            ("env_redis_auth", "REDIS_AUTH", "="),
            ("env_mysql_pwd", "MYSQL_PWD", "="),
            ("env_passphrase", "SSH_KEY_PASSPHRASE", "="),
            ("env_django_secret_key", "DJANGO_SECRET_KEY", "="),
            ("env_openai_api_key", "OPENAI_API_KEY", "="),
            ("env_auth_token", "SENTRY_AUTH_TOKEN", "="),
            ("env_signing_key", "JWT_SIGNING_KEY", "="),
            ("env_credentials", "SMTP_CREDENTIALS", "="),
            ("env_session_secret", "SESSION_SECRET", "="),
            ("env_access_key", "MINIO_ACCESS_KEY", "="),
            ("env_sign", "WECHAT_PAY_SIGN", "="),
            ("env_camel_case", "dbPassword", "="),
            ("properties_dotted", "spring.datasource.password", "="),
            ("yaml_hyphenated", "db-pass", ": "),
            ("ini_aws_secret", "aws_secret_access_key", " = "),
            ("ini_spaces", "db_password", "   =   "),
            ("toml_quoted_name", '"api-token"', " = "),
            ("go_assign", "authToken", " := "),
    ):
        s = rnd(name, 18)
        add(_k(name, f"{key}{sep}{s}", s, "assign"))
    s = "with spaces " + rnd("exportq", 12)
    add(_k("env_export_double_quoted", f'export DB_PASSWORD="{s}"', s, "assign"))
    s = rnd("dictpass", 16)
    add(_k("python_dict_db_pass", f"{{'db_pass': '{s}', 'host': 'db', 'port': 5432}}", s,
           "line"))
    s = rnd("jsonpass", 16)
    add(_k("json_password", f'{{"user": "app", "password": "{s}", "host": "db"}}', s, "line"))
    s = rnd("jsonnested", 16)
    add(_k("json_nested_token", f'{{"auth": {{"type": "bot", "token": "{s}"}}}}', s, "line"))
    s = rnd("jsonescaped", 16)
    add(_k("json_escaped_in_log", f'payload={{\\"client_secret\\": \\"{s}\\"}}', s, "line"))
    s = rnd("yamlpg", 16)
    add(_k("yaml_postgres_password", f'POSTGRES_PASSWORD: "{s}"', s, "assign"))
    s = rnd("yamlplain", 16)
    add(_k("yaml_password_plain", f"password: {s}", s, "assign"))
    s = rnd("tomlpw", 16)
    add(_k("toml_password", f'password = "{s}"', s, "assign"))
    s = rnd("xmlpw", 16)
    add(_k("xml_password", f"<password>{s}</password>", s, "line"))
    s = rnd("formpw", 16)
    add(_k("form_body_password", f"grant_type=password&username=app&password={s}&scope=api",
           s, "line"))
    s = rnd("cnfullcolon", 16)
    add(_k("chinese_mima_fullwidth_colon", f"数据库密码：{s}", s, "assign"))
    s = rnd("cnfulleq", 16)
    add(_k("chinese_kouling_fullwidth_eq", f"口令＝{s}", s, "assign"))
    s = rnd("cnascii", 16)
    add(_k("chinese_mima_ascii_eq", f"密码={s}", s, "assign"))
    s = rnd("cnmiyao", 16)
    add(_k("chinese_miyao", f"接口密钥: {s}", s, "assign"))
    s = rnd("cnlingpai", 16)
    add(_k("chinese_lingpai", f"访问令牌：{s}", s, "assign"))
    s = rnd("fullwidthname", 16)
    add(_k("fullwidth_ascii_name", f"ＰＡＳＳＷＯＲＤ＝{s}", s, "assign"))
    # -- HTTP headers, cookies, ASGI scope dumps -------------------------------------------
    s = rnd("bearer", 24, URLSAFE)
    add(_k("authorization_bearer", f"Authorization: Bearer {s}", s, "header"))
    s = base64.b64encode(f"admin:{rnd('basicpw', 12)}".encode()).decode()
    add(_k("authorization_basic", f"Authorization: Basic {s}", s, "header"))
    s = rnd("digest", 32, HEX)
    add(_k("authorization_digest",
           'Authorization: Digest username="app", realm="api", nonce="dcd98b7102dd2f0e8b11d0f6'
           f'00bfb0c093", uri="/api/health", qop=auth, nc=00000001, cnonce="0a4f113b", '
           f'response="{s}", opaque="5ccc069c403ebaf9f0171e9517f40e41"', s, "header"))
    s = rnd("drftoken", 40, HEX)
    add(_k("authorization_token", f"Authorization: Token {s}", s, "header"))
    s = rnd("xapikey", 32)
    add(_k("x_api_key", f"X-Api-Key: {s}", s, "header"))
    s = rnd("cookie", 32, HEX)
    add(_k("cookie_header", f"Cookie: theme=dark; sessionid={s}; lang=en", s, "header"))
    s = rnd("setcookie", 28, URLSAFE)
    add(_k("set_cookie_header", f"Set-Cookie: session={s}; Path=/; HttpOnly; Secure", s,
           "header"))
    s = rnd("customtoken", 30)
    add(_k("x_custom_token_header", f"X-Custom-Token: {s}", s, "header"))
    s = base64.b64encode(f"proxy:{rnd('proxypw', 12)}".encode()).decode()
    add(_k("proxy_authorization", f"Proxy-Authorization: Basic {s}", s, "header"))
    s = rnd("asgicookie", 32, HEX)
    add(_k("asgi_scope_cookie",
           "scope={'type': 'http', 'method': 'GET', 'path': '/api/health', 'headers': "
           f"[(b'host', b'app.example.test'), (b'cookie', b'sessionid={s}'), "
           "(b'accept', b'*/*')]}", s, "line"))
    s = rnd("asgiapikey", 32)
    add(_k("asgi_scope_x_api_key",
           "{'type': 'http', 'headers': [(b'user-agent', b'curl/7.88.1'), "
           f"(b'x-api-key', b'{s}')], 'client': ('127.0.0.1', 52344)}}", s, "line"))
    s = rnd("asgiauth", 28, URLSAFE)
    add(_k("asgi_scope_authorization",
           f"headers=[(b'authorization', b'Bearer {s}'), (b'host', b'app')]", s, "line"))
    s = rnd("wsgienv", 28, URLSAFE)
    add(_k("wsgi_environ_authorization", f"'HTTP_AUTHORIZATION': 'Bearer {s}',", s, "line"))
    # -- nginx directives ------------------------------------------------------------------
    s = rnd("ngxcustom", 30)
    add(_k("nginx_proxy_set_header_custom", f"proxy_set_header X-Custom-Token {s};", s,
           "nginx"))
    s = rnd("ngxset", 24)
    add(_k("nginx_set_variable", f"set $api_secret {s};", s, "nginx"))
    s = rnd("ngxsetq", 24)
    add(_k("nginx_set_variable_quoted", f'set $backend_auth "Bearer {s}";', s, "nginx"))
    s = "Ngx" + rnd("ngxbasic", 14)
    add(_k("nginx_proxy_pass_basic_auth", f"proxy_pass http://admin:{s}@127.0.0.1:8000;", s,
           "nginx"))
    s = rnd("ngxauthq", 24)
    add(_k("nginx_authorization_quoted", f'proxy_set_header Authorization "Bearer {s}";', s,
           "nginx"))
    s = rnd("ngxfastcgi", 20)
    add(_k("nginx_fastcgi_param", f"fastcgi_param DB_PASSWORD {s};", s, "nginx"))
    s = rnd("ngxuwsgi", 20)
    add(_k("nginx_uwsgi_param", f"uwsgi_param APP_TOKEN {s};", s, "nginx"))
    s = rnd("ngxenv", 20)
    add(_k("nginx_env", f"env DB_PASS={s};", s, "nginx"))
    s = rnd("ngxsecurelink", 20)
    add(_k("nginx_secure_link_md5", f'secure_link_md5 "$secure_link_expires$uri {s}";', s,
           "nginx"))
    # -- webhook and API URLs --------------------------------------------------------------
    s = rnd("slackhook", 24)
    add(_k("slack_webhook", f"https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/{s}", s,
           "value"))
    s = "-".join((rnd("feishu1", 8, HEX), rnd("feishu2", 4, HEX), rnd("feishu3", 4, HEX),
                  rnd("feishu4", 4, HEX), rnd("feishu5", 12, HEX)))
    add(_k("feishu_webhook", f"https://open.feishu.cn/open-apis/bot/v2/hook/{s}", s, "value"))
    s = rnd("dingtoken", 64, HEX)
    add(_k("dingtalk_access_token", f"https://oapi.dingtalk.com/robot/send?access_token={s}",
           s, "value"))
    s = rnd("dingsign", 30, B62) + "%2B" + rnd("dingsign2", 8) + "%3D"
    add(_k("dingtalk_sign",
           "https://oapi.dingtalk.com/robot/send?access_token=REDACTEDx&timestamp="
           f"1700000000000&sign={s}", s, "value"))
    s = rnd("discord", 68, URLSAFE)
    add(_k("discord_webhook", f"https://discord.com/api/webhooks/1234567890123456789/{s}", s,
           "value"))
    s = "AAH" + rnd("telegram", 32, URLSAFE)
    add(_k("telegram_bot_url", f"https://api.telegram.org/bot6123456789:{s}/sendMessage", s,
           "value"))
    s = "AAF" + rnd("telegrambare", 32, URLSAFE)
    add(_k("telegram_bot_token_bare", f"bot started with 7012345678:{s}", s, "line"))
    s = rnd("sentry", 32, HEX)
    add(_k("sentry_dsn", f"https://{s}@o450123.ingest.sentry.io/4504123456789", s, "value"))
    s = rnd("urlsign", 40, HEX)
    add(_k("url_sign_param", f"https://api.example.com/notify?ts=1700000000&nonce=8842&sign={s}",
           s, "value"))
    s = rnd("amzsig", 64, HEX)
    add(_k("x_amz_signature",
           "https://bucket.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
           "X-Amz-Credential=AKIAEXAMPLE%2F20261123%2Fus-east-1%2Fs3%2Faws4_request&"
           f"X-Amz-Date=20261123T000000Z&X-Amz-Expires=3600&X-Amz-Signature={s}", s, "value"))
    s = rnd("azuresas", 40, B64) + "%3D"
    add(_k("azure_sas_sig", "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&ss=b&srt=o&"
                            f"sp=r&se=2026-12-01T00:00:00Z&sig={s}", s, "value"))
    # -- token formats ---------------------------------------------------------------------
    s = rnd("awssecret", 40, B64)
    add(_k("aws_secret_key_bare", f"using credentials AKIA2E0A8F3B244C9986 {s}", s, "line"))
    s = "AKIA" + rnd("awsid", 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    add(_k("aws_access_key_id", f"aws_access_key_id={s}", s, "assign"))
    s = "SG." + rnd("sendgrid1", 22, URLSAFE) + "." + rnd("sendgrid2", 43, URLSAFE)
    add(_k("sendgrid_key", f"sendgrid client ready {s}", s, "value"))
    s = "pypi-AgEIcHlwaS5vcmc" + rnd("pypi", 60, URLSAFE)
    add(_k("pypi_token", f"twine upload -u __token__ -p {s} dist/*", s, "argv"))
    s = "whsec_" + rnd("whsec", 32)
    add(_k("stripe_webhook_secret", f"webhook secret {s}", s, "value"))
    s = "sk_live_" + rnd("stripesk", 24)
    add(_k("stripe_secret_key", s, s, "value"))
    s = "rk_live_" + rnd("stripesrk", 24)
    add(_k("stripe_restricted_key", s, s, "value"))
    s = rnd("azurekey", 86, B64) + "=="
    add(_k("azure_storage_connection_string",
           "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + s
           + ";EndpointSuffix=core.windows.net", s, "value"))
    s = "ghp_" + rnd("ghp", 36)
    add(_k("github_pat", s, s, "value"))
    s = "github_pat_" + rnd("ghfine1", 22) + "_" + rnd("ghfine2", 59)
    add(_k("github_fine_grained_pat", s, s, "value"))
    s = "glpat-" + rnd("glpat", 20, URLSAFE)
    add(_k("gitlab_pat", s, s, "value"))
    s = "AIza" + rnd("gcp", 35, URLSAFE)
    add(_k("google_api_key", s, s, "value"))
    s = "sk-proj-" + rnd("openai", 48, URLSAFE)
    add(_k("openai_key", s, s, "value"))
    s = "sk-ant-api03-" + rnd("anthropic", 93, URLSAFE) + "AA"
    add(_k("anthropic_key", s, s, "value"))
    s = "npm_" + rnd("npm", 36)
    add(_k("npm_token", f"//registry.npmjs.org/:_authToken={s}", s, "assign"))
    s = "hf_" + rnd("hf", 34)
    add(_k("huggingface_token", s, s, "value"))
    s = "xoxb-" + rnd("slackbot1", 12, "0123456789") + "-" + rnd("slackbot2", 13, "0123456789") \
        + "-" + rnd("slackbot3", 24)
    add(_k("slack_bot_token", s, s, "value"))
    s = (base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').decode().rstrip("=") + "."
         + base64.urlsafe_b64encode(('{"sub":"' + rnd("jwtsub", 12) + '","exp":1790000000}')
                                    .encode()).decode().rstrip("=")
         + "." + rnd("jwtsig", 43, URLSAFE))
    add(_k("jwt_whole", f"token={s}", s, "value"))
    # -- private key blocks ----------------------------------------------------------------
    for name, label in (("pem_rsa", "RSA PRIVATE KEY"), ("pem_pkcs8", "PRIVATE KEY"),
                        ("pem_openssh", "OPENSSH PRIVATE KEY"), ("pem_ec", "EC PRIVATE KEY"),
                        ("pem_encrypted", "ENCRYPTED PRIVATE KEY"),
                        ("pgp_private", "PGP PRIVATE KEY BLOCK")):
        lines = [rnd(f"{name}{i}", 64, B64) for i in range(4)]
        head = "\n\n" if label.startswith("PGP") else "\n"
        body = "\n".join(lines)
        add(_k(name, f"-----BEGIN {label}-----{head}{body}\n-----END {label}-----", lines[1],
               "block"))
    # -- command lines ---------------------------------------------------------------------
    s = rnd("mysqlp", 16)
    add(_k("mysql_p_attached", f"mysql -h db -u root -p{s} appdb", s, "argv"))
    s = rnd("sshpass", 16)
    add(_k("sshpass_p_separate", f"sshpass -p {s} ssh deploy@10.0.3.9", s, "argv"))
    s = rnd("rediscli", 20)
    add(_k("redis_cli_a", f"redis-cli -h 127.0.0.1 -p 6379 -a {s} ping", s, "argv"))
    s = rnd("curlu", 16)
    add(_k("curl_user_password", f"curl -sS -u admin:{s} http://127.0.0.1:8000/admin", s,
           "argv"))
    s = rnd("curlh", 24)
    add(_k("curl_header_api_key", f"curl -H 'X-Api-Key: {s}' http://127.0.0.1:8000/", s,
           "argv"))
    s = rnd("dbpassflag", 18)
    add(_k("db_pass_flag_separate", f"/srv/app/venv/bin/python manage.py migrate --db-pass {s}",
           s, "argv"))
    s = rnd("dbpasseq", 18)
    add(_k("db_password_flag_equals", f"/srv/app/venv/bin/app --db-password={s} --port 8000",
           s, "argv"))
    s = rnd("mysqladmin", 18)
    add(_k("mysqladmin_password", f"mysqladmin --password {s} status", s, "argv"))
    s = rnd("clientsecret", 24)
    add(_k("client_secret_flag", f"oauth2-proxy --client-id app --client-secret {s}", s,
           "argv"))
    s = rnd("dockere", 18)
    add(_k("docker_env_flag", f"docker run -e DB_PASS={s} -p 8000:8000 app:latest", s, "argv"))
    s = rnd("pgpassword", 18)
    add(_k("pgpassword_prefix", f"env PGPASSWORD={s} psql -h db -U app appdb", s, "argv"))
    s = rnd("wget", 18)
    add(_k("wget_http_password", f"wget --http-user=app --http-password={s} http://db/x", s,
           "argv"))
    s = rnd("gunicorne", 18)
    add(_k("gunicorn_env_flag", f"gunicorn -e SECRET_KEY={s} -b 127.0.0.1:8000 main:app", s,
           "argv"))
    s = rnd("nonutf8", 18)
    add(_k("non_utf8_line", f"caf\u00e9 r\u00e9sum\u00e9 DB_PASSWORD={s}", s, "line"))
    return k


KINDS: tuple[Kind, ...] = tuple(_kinds())
assert len({k.name for k in KINDS}) == len(KINDS)
