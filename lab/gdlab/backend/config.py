"""Settings read from .env, the way most FastAPI backends do it."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    postgres_url: str
    app_name: str = "FastAPI Backend"


settings = Settings()
