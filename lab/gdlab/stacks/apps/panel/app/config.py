"""Settings read from .env in the working directory (the app is started by hand)."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env")

    database_url: str


settings = Settings()
